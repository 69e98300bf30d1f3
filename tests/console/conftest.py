from tests.console.fixtures import page, service

__all__ = ["page", "service"]
