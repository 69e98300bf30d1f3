from tests.kafka_broker import kafka_bootstrap, kafka_settings
from tests.postgres_server import postgres_server, postgres_url
from tests.store.fixtures import store, store_url

__all__ = [
    "kafka_bootstrap",
    "kafka_settings",
    "postgres_server",
    "postgres_url",
    "store",
    "store_url",
]
