class StoreError(Exception):
    """Base of the store errors."""


class UnsupportedDatabaseUrl(StoreError):
    """`MR_DATABASE_URL` names a back-end the store does not support."""


class StoreUnavailable(StoreError):
    """The database did not answer."""
