"""Errors of the alerts part."""


class AlertError(Exception):
    """Base of the alerts errors."""


class UnsafeTarget(AlertError):
    """A subscription's URL is refused (scheme, or an address inside the platform)."""
