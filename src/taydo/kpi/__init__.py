"""KPIs by pillar and sector, their engine and history, the DTI, the executive dashboard."""

__all__: list[str] = []
