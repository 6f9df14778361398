"""Tây Đô: an open-source Intelligent Operations Center (IOC) for a smart city."""

__version__ = "0.1.0"
__all__ = ["__version__"]
