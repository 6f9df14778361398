"""NGSI-LD subscriptions (ETSI GS CIM 009 §5.8): who wants to hear of which entities'
changes, and the notifications POSTed to them through the alert outbox's delivery machinery."""

__all__: list[str] = []
