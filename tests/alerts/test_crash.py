"""SIGKILL the service while alerts are pending: after a restart every alert is delivered (at
least once; by its Idempotency-Key, one effect at the receiver) and nothing is lost from the
outbox, which was written in the same transaction as the revisions."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services.api.auth import key_digest
from services.demo.player import play
from services.demo.scenario import seed_story
from services.settings import Settings
from services.store import open_store
from services.store.alert_outbox import alert_outbox
from tests.alerts.receiver import Receiver
from tests.helpers import eventually, live_server
from tests.processes import Service, service_env, start, wait_ready
from tests.reactions import replayed

pytestmark = pytest.mark.kafka

WRITE_KEY = "desk-write-key"


def alert_env(settings: Settings, name: str) -> dict[str, str]:
    return service_env(
        settings,
        name,
        MR_API_WRITE_KEYS_SHA256=f'["{key_digest(WRITE_KEY)}"]',
        MR_ALERT_ALLOWED_HOSTS='["127.0.0.1"]',
        MR_ALERT_MAX_ATTEMPTS="100000",  # the receiver is down for a while: never give up
        MR_ALERT_BACKOFF_BASE_S="0.05",
        MR_ALERT_BACKOFF_MAX_S="0.5",
        MR_ALERT_POLL_INTERVAL_S="0.2",
    )


async def outbox_rows(settings: Settings) -> list[tuple[str, str]]:
    """(signal_id, state) of every outbox row, read apart from the service."""
    store = await open_store(settings.database_url)
    try:
        async with store._engine.connect() as conn:
            o = alert_outbox.c
            rows = await conn.execute(select(o.signal_id, o.state).order_by(o.id))
            return [(r[0], r[1]) for r in rows]
    finally:
        await store.close()


async def kospi_final_reactions(settings: Settings) -> set[tuple[str, str, str]]:
    """(announcement, instrument, horizon) of the KOSPI reactions whose final revision is
    stored: once every reaction is final, no more revisions (and alerts) come."""
    store = await open_store(settings.database_url)
    try:
        log = await store.revisions_after(0, limit=1_000_000)
        return {
            (s.announcement_id, s.instrument, s.horizon)
            for s in log
            if s.instrument == "KOSPI" and s.final
        }
    finally:
        await store.close()


async def kospi_revisions(settings: Settings) -> set[str]:
    store = await open_store(settings.database_url)
    try:
        log = await store.revisions_after(0, limit=1_000_000)
        return {s.signal_id for s in log if s.instrument == "KOSPI"}
    finally:
        await store.close()


async def test_a_killed_service_delivers_every_pending_alert_after_restart(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    s = kafka_settings
    scenario = seed_story(seed=11)
    replay_keys = set(replayed(scenario, tmp_path))
    receiver_up = False
    receiver = Receiver(lambda key, attempt: (200, {}) if receiver_up else (503, {}))
    services: list[Service] = []
    try:
        async with live_server(receiver.app()) as hook, httpx.AsyncClient(timeout=10) as http:
            first = await start("all", "first", alert_env(s, "first"), tmp_path)
            services.append(first)
            await wait_ready(http, first)
            created = await http.post(
                f"{first.base_url}/v1/alerts/subscriptions",
                json={"url": f"{hook}/hook", "filter": {"instrument": "KOSPI"}},
                headers={"Authorization": f"Bearer {WRITE_KEY}"},
            )
            assert created.status_code == 201, created.text
            sid = created.json()["id"]
            await play(scenario, s, speedup=0, progress=False)

            async def pending_and_tried() -> bool:
                rows = await outbox_rows(s)
                stored = await kospi_revisions(s)
                return (
                    len(stored) >= 10 and len(rows) == len(stored) and len(receiver.requests) >= 5
                )

            await eventually(pending_and_tried, timeout_s=90, what="alerts queued and tried")
            await first.kill()

            at_kill = await outbox_rows(s)
            pending_at_kill = [sig for sig, state in at_kill if state == "pending"]
            assert pending_at_kill, "the kill must come while alerts are pending"
            assert not receiver.delivered(), (
                "nothing could be delivered while the receiver was down"
            )
            # every revision stored before the kill has its alert: same transaction
            assert {sig for sig, _ in at_kill} == await kospi_revisions(s)

            receiver_up = True
            second = await start("all", "second", alert_env(s, "second"), tmp_path)
            services.append(second)

            async def all_delivered() -> bool:
                second.alive()
                # finals first: the rows read after them hold every alert there will be
                finals = await kospi_final_reactions(s)
                rows = await outbox_rows(s)
                latest = await kospi_revisions(s)
                return (
                    {r for r in replay_keys if r[1] == "KOSPI"} <= finals
                    and {sig for sig, _ in rows} == latest
                    and all(state == "delivered" for _, state in rows)
                    and len(receiver.delivered()) >= len(rows)
                )

            await eventually(all_delivered, timeout_s=120, what="every alert delivered")

        rows = await outbox_rows(s)
        expected = {f"{sid}:{sig}" for sig, _ in rows}
        effects = {r.key for r in receiver.delivered()}  # the receiver dedupes by key
        assert effects == expected
        assert len(rows) == len(expected), "one outbox row per revision"
        assert set(pending_at_kill) <= {sig for sig, _ in rows}
    finally:
        for service in services:
            await service.stop()
