"""Schema migrations on both back-ends: the revisions build exactly the declared schema, a store
from before migrations is adopted with its data, a newer store is refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, insert, inspect, text
from sqlalchemy.engine import Connection

from services.cli import main
from services.store import migrate, open_store
from services.store.codec import announcement_row, signal_row
from services.store.connect import create_engine
from services.store.exceptions import SchemaOutdated, SchemaTooNew
from services.store.schema import metadata
from tests import factories as f


def _schema_drift(conn: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn), metadata))


async def test_the_migrations_build_exactly_the_declared_schema(store_url: str) -> None:
    """A change to `schema.py` without its migration fails here."""
    async with await open_store(store_url) as store, store.engine.connect() as conn:
        drift = await conn.run_sync(_schema_drift)
        state = await migrate.state(store.engine)
    assert drift == []
    assert state.current == state.head


def _insert_as_stored(conn: Connection, rows: Mapping[str, list[dict[str, Any]]]) -> None:
    """Rows written into the tables as the database has them (reflected, not declared)."""
    found = MetaData()
    found.reflect(conn)
    for name, items in rows.items():
        table: Table = found.tables[name]
        conn.execute(insert(table), [{k: v for k, v in r.items() if k in table.c} for r in items])


async def test_a_store_from_before_migrations_is_upgraded_and_loses_nothing(
    store_url: str,
) -> None:
    announcements = [f.announcement("a1"), f.announcement("a2", day=1, sectors=("autos",))]
    revisions = [f.signal("a1", revision=1), f.signal("a1", revision=2, final=True)]
    revisions += [f.signal("a2", "005380.KS", "5m", revision=1, z_score=None)]
    latest = [revisions[1], revisions[2]]
    bar = {"instrument": "KOSPI", "ts_us": 1, "open": 1.0, "high": 2.0, "low": 0.5}
    bar |= {"close": 1.5, "volume": None, "first_at_us": 1, "last_at_us": 2}
    engine = create_engine(store_url)
    try:
        await migrate.upgrade(engine, to=migrate.BASELINE)
        async with engine.begin() as conn:
            # as the first release left it: no version table, an index it has since retired
            await conn.execute(text("DROP TABLE alembic_version"))
            await conn.execute(
                text("CREATE INDEX ix_reactions_latest_final ON reactions_latest (final)")
            )
            await conn.run_sync(
                _insert_as_stored,
                {
                    "announcements": [announcement_row(a) for a in announcements],
                    "announcement_targets": [{"announcement_id": "a1", "target": "KR"}],
                    "announcement_sectors": [{"announcement_id": "a2", "sector": "autos"}],
                    "price_bars_1m": [bar],
                    "reaction_revisions": [
                        {**signal_row(s), "cursor": n} for n, s in enumerate(revisions, 1)
                    ],
                    "reactions_latest": [{**signal_row(s), "cursor": 2} for s in latest],
                },
            )
    finally:
        await engine.dispose()

    async with await open_store(store_url) as store:
        state = await migrate.state(store.engine)
        assert state.current == state.head
        assert [await store.get_announcement(a.id) for a in announcements] == announcements
        stored = await store.revisions("a1", "KOSPI", "close")
        assert [s.model_copy(update={"cursor": None}) for s in stored] == revisions[:2]
        assert [s.cursor for s in stored] == [1, 2]
        assert len(await store.reactions_of("a2")) == 1
        async with store.engine.connect() as conn:
            bars = await conn.execute(text("SELECT close FROM price_bars_1m"))
            assert bars.scalars().all() == [1.5]
            indexes = await conn.run_sync(
                lambda c: {i["name"] for i in inspect(c).get_indexes("reactions_latest")}
            )
        assert "ix_reactions_latest_final" not in indexes
        assert "ix_reactions_latest_by_horizon" in indexes


async def test_a_store_migrated_by_a_newer_release_is_refused(store_url: str) -> None:
    async with await open_store(store_url) as store, store.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaTooNew, match="9999_future"):
        await open_store(store_url)
    with pytest.raises(SchemaTooNew):
        await open_store(store_url, upgrade=False)


async def test_without_automatic_upgrades_a_store_behind_is_refused_with_the_command(
    store_url: str,
) -> None:
    with pytest.raises(SchemaOutdated, match="market-reaction db upgrade"):
        await open_store(store_url, upgrade=False)
    async with await open_store(store_url):
        pass
    async with await open_store(store_url, upgrade=False) as store:
        state = await migrate.state(store.engine)
    assert state.current == state.head


def test_the_db_commands_upgrade_and_report_the_revision(
    store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MR_DATABASE_URL", store_url)
    head = _head_revision()
    assert main(["db", "current"]) == 1  # an empty store is behind
    assert capsys.readouterr().out == f"current: none\nhead: {head}\n"
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"db: upgraded from an unversioned store to {head}\n"
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"db: already at {head}\n"
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out == f"current: {head}\nhead: {head}\n"


def _head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", migrate.SCRIPTS)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
