"""The subscriptions' logic: storing them (``store``), matching changes against them in
memory (``index``), and turning matches into notifications in the outbox (``notifications``)."""

from taydo.subscriptions.service.store import (
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    update_subscription,
)

__all__ = [
    "create_subscription",
    "delete_subscription",
    "get_subscription",
    "list_subscriptions",
    "update_subscription",
]
