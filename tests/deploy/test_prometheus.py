"""Prometheus config and alert rules, checked and unit-tested by promtool; every PromQL expression
of the dashboard and the alerts parses and uses only the service's metrics and labels."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.deploy.helpers import (
    ALERTS,
    ALERTS_TEST,
    PROMETHEUS_CONFIG,
    alert_rules,
    expressions,
    grouping_labels,
    matcher_labels,
    metric_names,
    run,
    series_names,
)

EXPRESSIONS = expressions()


def test_config_is_valid(promtool: str) -> None:
    # also loads the rule files the config names
    result = run([promtool, "check", "config", str(PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_are_valid(promtool: str) -> None:
    result = run([promtool, "check", "rules", str(ALERTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_fire_when_they_should(promtool: str) -> None:
    # tests/deploy/alerts_test.yml: a feed stopping during the session, lag growing, DLQ share,
    # an announcement left without signal, a replica down or not ready, and their quiet cases
    result = run([promtool, "test", "rules", str(ALERTS_TEST)], cwd=ALERTS_TEST.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_expression_parses(promtool: str, tmp_path: Path) -> None:
    # promtool parses each rule's PromQL: one recording rule per expression, named after its index
    names = list(EXPRESSIONS)
    rules = [
        {"record": f"check:expression_{i}", "expr": EXPRESSIONS[n]} for i, n in enumerate(names)
    ]
    path = tmp_path / "expressions.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "check", "rules": rules}]}), "utf-8")
    result = run([promtool, "check", "rules", str(path)])
    index = "\n".join(f"  expression_{i}: {name}" for i, name in enumerate(names))
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\nwhere\n{index}"
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_expression_uses_only_the_service_metrics_and_labels(name: str) -> None:
    expr = EXPRESSIONS[name]
    known = series_names()
    used = metric_names(expr)
    assert used, f"{expr!r} selects none of the service's metrics"
    assert not used - known.keys(), f"unknown metric in {expr!r}"
    for metric, labels in matcher_labels(expr).items():
        assert labels <= known[metric], f"{metric} has no label {labels - known[metric]}"
    available = set().union(*(known[metric] for metric in used))
    grouped = grouping_labels(expr)
    assert grouped <= available, f"no metric of {expr!r} has {grouped - available}"


def test_alerts_cover_issue_6() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert set(rules) >= {
        "ConsumerLagGrowing",
        "PriceFeedStale",
        "DeadLetterRateHigh",
        "NoSignalsAfterAnnouncement",
        "MarketReactionTargetDown",
        "MarketReactionNotReady",
    }
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert {"summary", "description"} <= rule["annotations"].keys(), name
        assert "for" in rule, f"{name}: fires on a single evaluation"
    assert "mr_market_open" in rules["PriceFeedStale"]["expr"]
    assert "up" in metric_names(rules["MarketReactionTargetDown"]["expr"])
    assert "mr_ready" in metric_names(rules["MarketReactionNotReady"]["expr"])


def test_the_scrape_job_names_replicas_by_instance() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    assert config["rule_files"] == [ALERTS.name]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "market-reaction"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert {group["labels"]["role"] for group in job["static_configs"]} == {"engine", "api"}
    assert any(r.get("target_label") == "instance" for r in job["relabel_configs"])
