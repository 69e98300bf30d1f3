"""The reaction store: announcements, price bars and every reaction revision."""

from services.store.batch import StoreBatch, WriteResult
from services.store.filters import AnnouncementFilter, ReactionFilter
from services.store.sql import SqlStore, open_store
from services.store.types import HistoryReader, ReactionWriter, Store

__all__ = [
    "AnnouncementFilter",
    "HistoryReader",
    "ReactionFilter",
    "ReactionWriter",
    "SqlStore",
    "Store",
    "StoreBatch",
    "WriteResult",
    "open_store",
]
