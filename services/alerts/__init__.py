"""Webhook alerts: subscriptions, a durable outbox written with the revisions, and the dispatcher
that delivers it (signed, retried, in order per subscription and reaction)."""
