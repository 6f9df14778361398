"""Operations: health (``/healthz``, ``/readyz``) and Prometheus metrics (``/metrics``).

A top-layer domain, like the console: it reads the other domains' running parts through the
runtime (``runtime.find(ObservationWriter)`` …) and their service functions, and no domain
knows it exists. See docs/operations.md.
"""
