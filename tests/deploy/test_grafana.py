"""The Grafana dashboard and its provisioning: well formed, on the provisioned datasource, and
showing what issue 6 asks for."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.helpers import (
    GRAFANA_DASHBOARDS,
    GRAFANA_DATASOURCE,
    load_dashboard,
    load_yaml,
    metric_names,
    query_panels,
)

GRID_COLUMNS = 24


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return load_dashboard()


@pytest.fixture(scope="module")
def datasource() -> dict[str, Any]:
    (source,) = load_yaml(GRAFANA_DATASOURCE)["datasources"]
    found: dict[str, Any] = source
    return found


def test_datasource_is_prometheus_with_a_fixed_uid(datasource: dict[str, Any]) -> None:
    assert datasource["type"] == "prometheus"
    assert datasource["uid"] == "prometheus"
    assert datasource["access"] == "proxy"
    assert datasource["isDefault"] is True


def test_dashboard_provider_reads_files() -> None:
    document = load_yaml(GRAFANA_DASHBOARDS)
    assert document["apiVersion"] == 1
    (provider,) = document["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")


def test_dashboard_has_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "market-reaction"
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["panels"]
    assert dashboard.get("id") is None, "provisioned dashboards carry no database id"


def test_every_panel_queries_the_provisioned_datasource(
    dashboard: dict[str, Any], datasource: dict[str, Any]
) -> None:
    expected = {"type": "prometheus", "uid": datasource["uid"]}
    panels = list(query_panels(dashboard))
    assert len(panels) >= 10
    for panel in panels:
        title = panel.get("title")
        assert title, f"panel {panel.get('id')} has no title"
        assert panel.get("type"), title
        assert panel.get("datasource") == expected, title
        targets = panel.get("targets")
        assert targets, f"{title}: no targets"
        refs = [target["refId"] for target in targets]
        assert len(refs) == len(set(refs)), f"{title}: refIds {refs}"
        for target in targets:
            assert target.get("expr", "").strip(), f"{title} {target['refId']}: no expr"
            assert target.get("datasource", expected) == expected, title
            assert "$" not in target["expr"], f"{title}: no template variables, the test runs it"


def test_panel_ids_are_unique_and_panels_do_not_overlap(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    occupied: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in occupied, f"{panel['title']} overlaps {occupied[(x, y)]}"
                occupied[(x, y)] = panel["title"]


def test_dashboard_shows_what_the_desk_and_platform_watch(dashboard: dict[str, Any]) -> None:
    shown = set().union(
        *(metric_names(t["expr"]) for p in query_panels(dashboard) for t in p["targets"])
    )
    wanted = {
        "feed health": {"mr_price_staleness_seconds", "mr_events_consumed_total", "mr_market_open"},
        "consumer lag": {"mr_consumer_lag_messages"},
        "latency percentiles": {
            "mr_tick_to_signal_seconds_bucket",
            "mr_announcement_to_first_signal_seconds_bucket",
        },
        "reactions": {
            "mr_reaction_return_pct",
            "mr_reaction_z_score",
            "mr_signals_emitted_total",
        },
        "live clients": {"mr_stream_clients", "mr_stream_clients_dropped_total"},
        "DLQ rejections": {"mr_events_rejected_total"},
        "HTTP requests": {"http_requests_total", "http_request_duration_seconds_bucket"},
        "webhook alerts": {
            "mr_alert_deliveries_total",
            "mr_alert_delivery_latency_seconds_bucket",
            "mr_alert_outbox_backlog",
            "mr_alert_subscriptions_disabled",
        },
    }
    for what, metrics in wanted.items():
        assert metrics <= shown, f"{what}: {metrics - shown} not on the dashboard"
    quantiles = [
        t["expr"]
        for p in query_panels(dashboard)
        for t in p["targets"]
        if "histogram_quantile(" in t["expr"]
    ]
    assert len(quantiles) >= 4
