"""A round of the Quix Streams peer (benchmarks/peers/quix_reactions.py) against the same topics
as the live path, and the check of its finals against `market-reaction replay` (helpers of
bench_live.py)."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import subprocess
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from services.ingest.topics import delete_scratch_topics

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / "benchmarks" / "peers" / "quix_reactions.py"
COMPARED = ("base_price", "last_price", "return_pct", "max_rise_pct", "max_fall_pct")
Key = tuple[str, str, str]


def peer_available() -> bool:
    return importlib.util.find_spec("quixstreams") is not None


def peer_round(
    bootstrap: str, topics: dict[str, str], n: int, bound_s: float
) -> tuple[float, dict[Key, dict[str, Any]]]:
    """Ticks/s of one fresh run (new group, state and output topic), and the finals it
    published, by reaction. The topics Quix Streams makes for its group (its state's changelogs,
    named `changelog__<group>--…`, and any `repartition__<group>--…`) are deleted after the
    run: they are outside the run's `bench-<run>.` names that `scratch_topics` deletes."""
    run = uuid.uuid4().hex[:8]
    out = f"{topics['signals']}.quix-{run}"
    group = f"quix-{run}"
    try:
        return _peer_run(bootstrap, topics, n, bound_s, out, group)
    finally:
        internal = [f"{kind}__{group}--" for kind in ("changelog", "repartition")]
        asyncio.run(delete_scratch_topics(bootstrap, internal))


def _peer_run(
    bootstrap: str, topics: dict[str, str], n: int, bound_s: float, out: str, group: str
) -> tuple[float, dict[Key, dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as state:
        args = {
            "bootstrap": bootstrap,
            "announcements": topics["announcements"],
            "prices": topics["prices"],
            "out": out,
            "ticks": n,
            "group": group,
            "state-dir": state,
            "seconds": bound_s,
        }
        done = subprocess.run(
            [str(ROOT / ".venv/bin/python"), str(PEER), *_flags(args)],
            capture_output=True,
            check=True,
        )
    figures = orjson.loads(done.stdout.splitlines()[-1])
    if figures["ticks"] < n:
        print(f"  (the peer stopped after {figures['ticks']:,} of {n:,} ticks)")
    finals = asyncio.run(_read_all(bootstrap, out, figures["finals"]))
    return figures["ticks"] / figures["seconds"], finals


async def _read_all(bootstrap: str, topic: str, count: int) -> dict[Key, dict[str, Any]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    finals: dict[Key, dict[str, Any]] = {}
    try:
        for _ in range(300):
            if len(finals) >= count:
                break
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    f = orjson.loads(record.value)
                    finals[(f["announcement_id"], f["instrument"], f["horizon"])] = f
    finally:
        await consumer.stop()
    return finals


def replay_finals(announcements: list[bytes], ticks: list[bytes]) -> dict[Key, dict[str, Any]]:
    """`market-reaction replay` over the same input (lines as `key<TAB>json`), its finals."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, lines in (("announcements", announcements), ("prices", ticks)):
            (folder / f"{name}.jsonl").write_bytes(
                b"\n".join(line.partition(b"\t")[2] for line in lines) + b"\n"
            )
        files = {k: folder / f"{k}.jsonl" for k in ("announcements", "prices", "out")}
        subprocess.run(
            [str(ROOT / ".venv/bin/market-reaction"), "replay", "--quiet", *_flags(files)],
            check=True,
        )
        rows = [orjson.loads(line) for line in files["out"].read_bytes().splitlines()]
    return {(r["announcement_id"], r["instrument"], r["horizon"]): r for r in rows}


def _flags(values: Mapping[str, object]) -> list[str]:
    return [part for name, value in values.items() for part in (f"--{name}", str(value))]


def compare(peer: dict[Key, dict[str, Any]], replay: dict[Key, dict[str, Any]]) -> str:
    """Which of the peer's finals equal replay's (every compared field within 1e-9)."""
    differ = [
        key
        for key, final in peer.items()
        if key not in replay
        or not all(math.isclose(final[f], replay[key][f], rel_tol=1e-9) for f in COMPARED)
    ]
    verdict = "all equal" if peer and not differ else f"{len(differ)} differ, e.g. {differ[:3]}"
    return f"{len(peer)} finals checked against replay ({', '.join(COMPARED)}): {verdict}"
