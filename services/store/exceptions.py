class StoreError(Exception):
    """Base of the store errors."""


class UnsupportedDatabaseUrl(StoreError):
    """`MR_DATABASE_URL` names a back-end the store does not support."""


class StoreUnavailable(StoreError):
    """The database did not answer."""


class SchemaTooNew(StoreError):
    """The store was migrated by a newer version of the service than this one."""


class SchemaOutdated(StoreError):
    """The store needs `market-reaction db upgrade` and automatic upgrades are off."""
