"""The dashboard and the alert rules against a real Prometheus (issue 6): it scrapes a running
service fed the seed story through the real broker; every expression of the dashboard and the
alert rules parses, every dashboard query has data, the stale-feed alert fires for KOSPI once the
test stops the feed mid-session while the availability alerts stay quiet, and promtool accepts
the service's /metrics text."""

from __future__ import annotations

import asyncio
import copy
import math
import re
import time
from collections.abc import Awaitable, Callable
from datetime import time as time_of_day
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.alerts.filters import AlertFilter
from services.alerts.types import StoredSubscription
from services.app import create_app
from services.demo.player import play
from services.demo.scenario import Scenario, seed_story
from services.settings import Settings
from services.store import open_store
from tests.alerts.receiver import Receiver
from tests.deploy.helpers import (
    ALERTS,
    PROMETHEUS_CONFIG,
    SCRAPE_JOB,
    alert_expressions,
    dashboard_expressions,
    load_yaml,
)
from tests.helpers import kcat_produce, live_server
from tests.prometheus_server import Prometheus, prometheus_server

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]

SCRAPE_INTERVAL = "1s"
TIME_SCALE = 60
"""The test's Prometheus runs the deployed alert rules with each `for:` and the stale-feed
threshold (seconds) divided by this, so that a minute in production is a second here, as
scrapes and evaluations are every second instead of every 15 s. Nothing else of a rule changes."""

GRAFANA_VARIABLES = {
    # Grafana's $__rate_interval is max($__interval + scrape interval, 4 × scrape interval)
    "__rate_interval": "4s",
    # the finest step Grafana picks is the datasource's scrape interval, here 1 s
    "__interval": SCRAPE_INTERVAL,
    "__interval_ms": "1000",
    # the dashboard's default time range
    "__range": "6h",
    # the instrument the test watches
    "instrument": "KOSPI",
}
"""What Grafana would put for its variables in this test. The dashboard has none today
(test_grafana keeps it so); a `$1` of label_replace is no variable and stays as written."""

STALE_INSTRUMENT = "KOSPI"
NEVER_ACTIVE = ("MarketReactionTargetDown", "MarketReactionNotReady")
"""Alerts that must not even be pending, their `for:` shortened too: the service stays up and
ready throughout."""
MALFORMED_PRICE = b"not json"
KST = ZoneInfo("Asia/Seoul")
POLL_TIMEOUT_S = 30.0

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 7 * 86_400_000,
    "y": 365 * 86_400_000,
}
_STALENESS_THRESHOLD = re.compile(r"(\(mr_price_staleness_seconds\)\s*>\s*)(\d+(?:\.\d+)?)")
_SUBQUERY_STEP = re.compile(r"\[\s*\w+\s*:\s*(\w+)\s*\]")


def grafana_to_promql(expr: str) -> str:
    """`expr` with Grafana's `$name`, `${name}` and `[[name]]` replaced by GRAFANA_VARIABLES."""

    def value(match: re.Match[str]) -> str:
        name = match[1] or match[2] or match[3]
        return GRAFANA_VARIABLES.get(name, match[0])

    return _VARIABLE.sub(value, expr)


def on_test_topics(expr: str, settings: Settings) -> str:
    """`expr` with the default topic names (quoted, in label matchers) replaced by this test's
    fresh topics, as a deployment with other topic names would edit the dashboard."""
    for name in ("announcements_topic", "prices_topic", "signals_topic"):
        default, ours = Settings.model_fields[name].default, getattr(settings, name)
        expr = expr.replace(f'"{default}"', f'"{ours}"')
    return expr


def duration_ms(text: str) -> int:
    """A Prometheus duration ("1m", "1h30m", "500ms") in milliseconds."""
    parts = _DURATION_PART.findall(text)
    assert parts, f"not a Prometheus duration: {text!r}"
    assert "".join(n + u for n, u in parts) == text, f"not a Prometheus duration: {text!r}"
    return sum(int(n) * _UNIT_MS[u] for n, u in parts)


def quick_rules(deployed: dict[str, Any]) -> dict[str, Any]:
    """deploy/prometheus/alerts.yml on the test's clock (TIME_SCALE): every `for:` and the
    number compared with `max by (instrument) (mr_price_staleness_seconds)` divided by
    TIME_SCALE; queries, labels and annotations unchanged."""
    rules = copy.deepcopy(deployed)
    thresholds = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = f"{max(1, duration_ms(rule['for']) // TIME_SCALE)}ms"
            rule["expr"], found = _STALENESS_THRESHOLD.subn(
                lambda m: f"{m[1]}{float(m[2]) / TIME_SCALE:g}", rule["expr"]
            )
            thresholds += found
    assert thresholds == 1, (
        f"expected one `(mr_price_staleness_seconds) > N` in {ALERTS.name}, found {thresholds}: "
        "update quick_rules with the new form of the stale-feed threshold"
    )
    return rules


def prometheus_config(target: str, rule_file: str) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml's scrape job, relabelling included, with the test's
    service as its only target; scrapes and rule evaluations every second."""
    deployed = load_yaml(PROMETHEUS_CONFIG)
    (job,) = [job for job in deployed["scrape_configs"] if job["job_name"] == SCRAPE_JOB]
    # the test's one process runs every role (`all`)
    job["static_configs"] = [{"targets": [target], "labels": {"role": "all"}}]
    return {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "scrape_timeout": SCRAPE_INTERVAL,
            "evaluation_interval": SCRAPE_INTERVAL,
        },
        "rule_files": [rule_file],
        "scrape_configs": [job],
    }


def until_mid_session(scenario: Scenario) -> Scenario:
    """The daily history and the first session's ticks up to 10:30 KST (it opens at 09:00),
    without the letter: after the last tick the market is open at KOSPI's event time."""
    opens_at = scenario.live[0].ts
    assert opens_at.astimezone(KST).time() == time_of_day(9), opens_at
    stop_at = opens_at + timedelta(hours=1, minutes=30)
    return Scenario([], scenario.history, [p for p in scenario.live if p.ts <= stop_at])


async def poll(
    check: Callable[[], Awaitable[str | None]], *, timeout_s: float = POLL_TIMEOUT_S
) -> None:
    """Re-run `check` until it reports no problem (None); fail with its last report after
    `timeout_s` (a bound, not an input)."""
    deadline = time.monotonic() + timeout_s
    while (problem := await check()) is not None:
        if time.monotonic() > deadline:
            pytest.fail(f"after {timeout_s:g} s: {problem}")
        await asyncio.sleep(0.1)


def values(body: dict[str, Any]) -> list[float]:
    """The numbers of an instant query's answer (a range selector gives each series' last)."""
    data = body["data"]
    kind, result = data["resultType"], data["result"]
    if kind == "scalar":
        return [float(result[1])]
    if kind == "vector":
        return [float(s["value"][1]) for s in result]
    if kind == "matrix":
        return [float(s["values"][-1][1]) for s in result]
    raise AssertionError(f"unexpected result type {kind}")


async def sample(service: httpx.AsyncClient, name: str, **labels: str) -> float | None:
    """One sample of the service's own /metrics, None when absent."""
    text = (await service.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return s.value
    return None


async def close_of(client: ClientConnection) -> tuple[int, str]:
    """Read `client` until the server closes it: the close code and reason."""

    async def read_all() -> None:
        while True:
            await client.recv()

    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(read_all(), POLL_TIMEOUT_S)
    received = closed.value.rcvd
    assert received is not None, closed.value
    return received.code, received.reason


def firing(alerts: list[dict[str, Any]], name: str, **labels: str) -> bool:
    return any(
        a["state"] == "firing" and a["labels"]["alertname"] == name
        for a in alerts
        if labels.items() <= a["labels"].items()
    )


async def test_dashboard_and_alerts_on_a_live_prometheus(
    kafka_settings: Settings, tmp_path: Path, promtool: str
) -> None:
    # a live client may hold one signal: the first batch of revisions drops it as too slow,
    # the event the "Clients dropped" panel shows
    settings = kafka_settings.model_copy(update={"stream_queue_size": 1})
    # the webhook alerts panels need deliveries: every revision goes to a receiver in the test
    settings = settings.model_copy(update={"alert_allowed_hosts": ["127.0.0.1"]})
    receiver = Receiver()
    scenario = seed_story()
    rules = quick_rules(load_yaml(ALERTS))
    (stale_rule,) = [
        rule["alert"]
        for group in rules["groups"]
        for rule in group["rules"]
        if "mr_price_staleness_seconds" in rule["expr"]
    ]
    (tmp_path / ALERTS.name).write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    dashboard = {
        name: on_test_topics(grafana_to_promql(expr), settings)
        for name, expr in dashboard_expressions().items()
    }
    alert_exprs = alert_expressions()

    app = create_app(settings, registry=CollectorRegistry())
    async with (
        live_server(receiver.app()) as hook,
        live_server(app) as base,
        httpx.AsyncClient(base_url=base) as service,
    ):

        async def service_ready() -> str | None:
            response = await service.get("/readyz")
            return None if response.status_code == 200 else f"service not ready: {response.text}"

        # ready before the first scrape: mr_ready is 1 all along Prometheus can see
        await poll(service_ready)
        await subscribe(settings, f"{hook}/hook")
        target = base.removeprefix("http://")
        config = prometheus_config(target, ALERTS.name)
        async with prometheus_server(config, tmp_path) as prometheus:
            await scrape_before_any_event(prometheus, dashboard)
            ws_url = base.replace("http://", "ws://", 1) + "/v1/signals/ws"
            async with connect(ws_url) as slow_client:

                async def subscribed() -> str | None:
                    clients = await sample(service, "mr_stream_clients", transport="ws")
                    return None if clients == 1 else f"{clients} WebSocket clients"

                await poll(subscribed)
                await feed_until_mid_session(settings, scenario, service)
                # the feed stopped a moment ago: not stale yet
                alerts = await prometheus.alerts()
                assert not firing(alerts, stale_rule, instrument=STALE_INSTRUMENT), alerts
                assert_quiet(alerts)
                assert await close_of(slow_client) == (1013, "slow_consumer")

            # requests after the first scrape, for the HTTP panels' rates: /readyz has been
            # requested before it, so its latency histogram has a rate (a handler's first
            # request only creates its series)
            assert (await service.get("/readyz")).status_code == 200
            reactions = await service.get("/v1/reactions", params={"instrument": "KOSPI"})
            assert reactions.status_code == 200, reactions.text

            await every_expression_parses(prometheus, dashboard | alert_exprs)
            await every_dashboard_query_has_data(prometheus, dashboard, settings)
            await stale_feed_alert_fires(prometheus, stale_rule)
            await every_rule_evaluates(prometheus, len(alert_exprs))

        metrics_text = (await service.get("/metrics")).text
    await promtool_accepts(promtool, metrics_text)


async def subscribe(settings: Settings, url: str) -> None:
    """A webhook subscription to every revision, written to the service's store."""
    store = await open_store(settings.database_url)
    try:
        await store.alerts.add_subscription(
            StoredSubscription("all", url, AlertFilter(), "json", "whsec_t", 0, True, None, 0, [])
        )
    finally:
        await store.close()


async def scrape_before_any_event(prometheus: Prometheus, dashboard: dict[str, str]) -> None:
    """Prometheus scrapes the idle service before the first event, so every rate covers the
    feed. A subquery samples at multiples of its step: `changes()` over one sees the letter
    only if such a step falls between the first scrape and the letter, so wait for one."""
    steps_ms = [duration_ms(s) for e in dashboard.values() for s in _SUBQUERY_STEP.findall(e)]
    step = f"{max([1000, *steps_ms])}ms"

    async def scraped() -> str | None:
        up = f'up{{job="{SCRAPE_JOB}"}}[1m:{step}]'
        body = await prometheus.query(up)
        seen = body["status"] == "success" and values(body) == [1.0]
        return None if seen else f"no scrape of the service at a {step} step yet: {body}"

    await poll(scraped)


async def feed_until_mid_session(
    settings: Settings, scenario: Scenario, service: httpx.AsyncClient
) -> None:
    """The letter first, as it happened, and one malformed price record for the dead-letter
    topic; then the history and the ticks up to 10:30 KST; then nothing."""
    await play(Scenario(scenario.announcements, [], []), settings, speedup=0, progress=False)
    await asyncio.to_thread(
        kcat_produce, settings.kafka_bootstrap, settings.prices_topic, [MALFORMED_PRICE]
    )

    async def letter_and_reject_consumed() -> str | None:
        letters = await sample(
            service, "mr_events_consumed_total", topic=settings.announcements_topic
        )
        rejected = await sample(
            service, "mr_events_rejected_total", topic=settings.prices_topic, reason="invalid_json"
        )
        if (letters, rejected) == (1, 1):
            return None
        return f"{letters} announcements consumed, {rejected} prices rejected"

    await poll(letter_and_reject_consumed)
    await play(until_mid_session(scenario), settings, speedup=0, progress=False)


async def every_expression_parses(prometheus: Prometheus, expressions: dict[str, str]) -> None:
    errors = {}
    for name, expr in expressions.items():
        body = await prometheus.query(expr)
        if body["status"] != "success":
            errors[name] = f"{expr}\n    {body.get('errorType')}: {body.get('error')}"
    assert not errors, "\n".join(f"{name}: {error}" for name, error in errors.items())


async def every_dashboard_query_has_data(
    prometheus: Prometheus, dashboard: dict[str, str], settings: Settings
) -> None:
    """Each query answers at least one number (not NaN: a quantile of no observation is NaN)."""
    answers: dict[str, list[dict[str, Any]]] = {}

    async def all_have_data() -> str | None:
        empty = []
        for name, expr in dashboard.items():
            body = await prometheus.query(expr)
            answers[name] = body["data"]["result"]
            if not any(math.isfinite(v) for v in values(body)):
                empty.append(f"{name}\n    {expr}\n    -> {body['data']['result']}")
        return "queries without data:\n" + "\n".join(empty) if empty else None

    await poll(all_have_data)
    # the queries of rare events show those the test caused
    (dlq,) = [name for name in dashboard if "mr_events_rejected_total" in dashboard[name]]
    assert any(
        s["metric"] == {"topic": settings.prices_topic, "reason": "invalid_json"}
        and float(s["value"][1]) > 0
        for s in answers[dlq]
    ), answers[dlq]
    (dropped,) = [name for name in dashboard if "mr_stream_clients_dropped" in dashboard[name]]
    assert [s["metric"] for s in answers[dropped]] == [
        {"transport": "ws", "reason": "slow_consumer"}
    ]


async def stale_feed_alert_fires(prometheus: Prometheus, stale_rule: str) -> None:
    async def fires() -> str | None:
        alerts = await prometheus.alerts()
        assert_quiet(alerts)
        if firing(alerts, stale_rule, instrument=STALE_INSTRUMENT):
            return None
        return f"{stale_rule} not firing for {STALE_INSTRUMENT}; active: {alerts}"

    await poll(fires)


def assert_quiet(alerts: list[dict[str, Any]]) -> None:
    loud = [a for a in alerts if a["labels"]["alertname"] in NEVER_ACTIVE]
    assert not loud, f"should not be active: {loud}"


async def every_rule_evaluates(prometheus: Prometheus, count: int) -> None:
    """Prometheus loaded every rule of the file and evaluated each without error."""
    rules = await prometheus.rules()
    assert len(rules) == count
    broken = [(r["name"], r["health"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    assert not broken, broken


async def promtool_accepts(promtool: str, metrics_text: str) -> None:
    process = await asyncio.create_subprocess_exec(
        promtool,
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate(metrics_text.encode())
    problems = out.decode().strip()
    assert process.returncode == 0, f"promtool check metrics:\n{problems}"
    assert not problems, problems
