"""Fixtures live in the modules named here, registered once for every test."""

pytest_plugins = [
    "tests.kafka_broker",
    "tests.postgres_server",
    "tests.store.fixtures",
    "tests.console.fixtures",
    "tests.deploy.fixtures",
]
