"""What the deploy tests share: the files, the metric contract, the tools, and small readers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERTS_TEST = Path(__file__).resolve().parent / "alerts_test.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "market-reaction.json"
GRAFANA_DATASOURCE = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"
GRAFANA_DASHBOARDS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml"
SCRAPE_JOB = "market-reaction"

# The service's metrics (issue 6) and their labels: the names the dashboard and the alerts may use.
COUNTER, GAUGE, HISTOGRAM = "counter", "gauge", "histogram"
METRICS: dict[str, tuple[str, frozenset[str]]] = {
    "mr_events_consumed_total": (COUNTER, frozenset({"topic"})),
    "mr_events_rejected_total": (COUNTER, frozenset({"topic", "reason"})),
    "mr_events_duplicate_total": (COUNTER, frozenset({"topic"})),
    "mr_events_late_total": (COUNTER, frozenset({"instrument"})),
    "mr_consumer_lag_messages": (GAUGE, frozenset({"topic", "partition"})),
    "mr_tick_to_signal_seconds": (HISTOGRAM, frozenset()),
    "mr_announcement_to_first_signal_seconds": (HISTOGRAM, frozenset()),
    "mr_signals_emitted_total": (COUNTER, frozenset({"instrument", "horizon", "final"})),
    "mr_open_windows": (GAUGE, frozenset()),
    "mr_watermark_lag_seconds": (GAUGE, frozenset({"instrument"})),
    "mr_price_staleness_seconds": (GAUGE, frozenset({"instrument"})),
    "mr_market_open": (GAUGE, frozenset({"instrument"})),
    "mr_reaction_return_pct": (GAUGE, frozenset({"instrument", "horizon"})),
    "mr_reaction_z_score": (GAUGE, frozenset({"instrument", "horizon"})),
    "mr_last_announcement_timestamp_seconds": (GAUGE, frozenset()),
    "mr_last_signal_timestamp_seconds": (GAUGE, frozenset()),
    "mr_stream_clients": (GAUGE, frozenset({"transport"})),
    "mr_stream_messages_sent_total": (COUNTER, frozenset({"transport"})),
    "mr_stream_clients_dropped_total": (COUNTER, frozenset({"transport", "reason"})),
    "mr_store_write_seconds": (HISTOGRAM, frozenset()),
    "mr_ready": (GAUGE, frozenset()),
    # webhook alerts (issue 15)
    "mr_alert_deliveries_total": (COUNTER, frozenset({"outcome"})),
    "mr_alert_delivery_latency_seconds": (HISTOGRAM, frozenset()),
    "mr_alert_outbox_backlog": (GAUGE, frozenset()),
    "mr_alert_subscriptions_disabled": (GAUGE, frozenset()),
    "mr_alert_outcome_write_seconds": (HISTOGRAM, frozenset()),
    # prometheus-fastapi-instrumentator's defaults
    "http_requests_total": (COUNTER, frozenset({"handler", "method", "status"})),
    "http_request_duration_seconds": (HISTOGRAM, frozenset({"handler", "method"})),
    # Prometheus's own, per target
    "up": (GAUGE, frozenset()),
}
TARGET_LABELS = frozenset({"job", "instance", "role"})
"""Labels every scraped series gets from prometheus.yml."""


def series_names() -> dict[str, frozenset[str]]:
    """Every series name a query may select, with its labels (a histogram's _bucket has `le`)."""
    names: dict[str, frozenset[str]] = {}
    for name, (kind, labels) in METRICS.items():
        if kind == HISTOGRAM:
            names[f"{name}_bucket"] = labels | {"le"}
            names[f"{name}_sum"] = labels
            names[f"{name}_count"] = labels
        else:
            names[name] = labels
    return {name: labels | TARGET_LABELS for name, labels in names.items()}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return dashboard


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def query_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The panels that query (every panel but rows), including those nested in collapsed rows."""
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def dashboard_expressions() -> dict[str, str]:
    """Every PromQL expression of the dashboard (panels and annotations), by a name that finds
    it."""
    dashboard = load_dashboard()
    found: dict[str, str] = {}
    for panel in query_panels(dashboard):
        for target in panel.get("targets", []):
            found[f"dashboard panel {panel['id']} {target['refId']}: {panel['title']}"] = target[
                "expr"
            ]
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if "expr" in annotation:
            found[f"dashboard annotation: {annotation['name']}"] = annotation["expr"]
    return found


def alert_expressions() -> dict[str, str]:
    return {f"alert: {rule['alert']}": rule["expr"] for rule in alert_rules()}


def expressions() -> dict[str, str]:
    """Every PromQL expression of the dashboard and the alert rules, by a name that finds it."""
    return dashboard_expressions() | alert_expressions()


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_SELECTOR = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_METRIC_NAME = re.compile(r"\b(?:mr|http)_[a-z0-9_]+\b|\bup\b(?!\s*\()")


def metric_names(expr: str) -> set[str]:
    """The series names an expression selects (the `mr_`/`http_` families and `up`)."""
    return set(_METRIC_NAME.findall(_QUOTED.sub('""', expr)))


def matcher_labels(expr: str) -> dict[str, set[str]]:
    """For each `name{...}` selector, the label names it matches on."""
    found: dict[str, set[str]] = {}
    for name, body in _SELECTOR.findall(_QUOTED.sub('""', expr)):
        found.setdefault(name, set()).update(_MATCHER_LABEL.findall(body))
    return found


def grouping_labels(expr: str) -> set[str]:
    """Label names in by/without/on/ignoring/group_left/group_right clauses."""
    labels: set[str] = set()
    for body in _GROUPING.findall(_QUOTED.sub('""', expr)):
        labels.update(label.strip() for label in body.split(",") if label.strip())
    return labels


def tool(name: str, *, why: str) -> str:
    """The path of a command-line tool the tests run; fail (never skip) when it is missing."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: {why}")
    return found


def run(
    argv: Sequence[str], *, cwd: Path = ROOT, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def interpolations(text: str) -> Iterator[re.Match[str]]:
    """Each `${NAME...}` Compose interpolates (`$${...}` is an escaped, literal `${`)."""
    yield from re.finditer(
        r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}", text
    )


def resolve_defaults(value: str, *, required: str = "required") -> str:
    """A Compose value with each `${VAR:-default}` replaced by its default and each
    `${VAR:?message}` by `required`."""
    value = re.sub(r"(?<!\$)\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}", required, value)
    return re.sub(
        r"(?<!\$)\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", lambda match: match.group(1), value
    )
