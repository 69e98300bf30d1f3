"""deploy/compose.yaml: valid by the Compose Specification's JSON schema, pinned, health-gated,
and in step with the service (its CLI, its settings), Prometheus and Grafana."""

from __future__ import annotations

import re
import sys
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest

from services.cli import _parser
from services.settings import Settings
from tests.deploy.helpers import (
    COMPOSE,
    DEPLOY,
    GRAFANA_DASHBOARDS,
    GRAFANA_DATASOURCE,
    PROMETHEUS_CONFIG,
    ROOT,
    SCRAPE_JOB,
    interpolations,
    load_yaml,
    resolve_defaults,
    run,
)

Services = dict[str, dict[str, Any]]

REQUIRED_VARIABLES = {"POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}
"""Secrets without a safe default: Compose must refuse to start without them."""
HEALTH_CONDITIONS = {"service_healthy", "service_completed_successfully"}


def one_shots(services: Services) -> set[str]:
    """Services others wait to have *completed*: they run once and exit, so no healthcheck."""
    return {
        name
        for service in services.values()
        for name, dependency in (service.get("depends_on") or {}).items()
        if isinstance(dependency, dict)
        and dependency.get("condition") == "service_completed_successfully"
    }


def replicas(services: Services, role: str) -> list[str]:
    return [
        name
        for name, service in services.items()
        if service.get("command", [])[:3] == ["serve", "--role", role]
    ]


def test_validates_against_the_compose_specification() -> None:
    # the schema check-jsonschema vendors (its `vendor.compose-spec`): nothing is fetched
    result = run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_image_tag_is_pinned(services: Services) -> None:
    for name, service in services.items():
        assert "image" in service, f"{name}: no image (a build needs a name to share)"
        image = resolve_defaults(service["image"])
        assert "${" not in image, f"{name}: {service['image']} has no default tag"
        reference, _, digest = image.partition("@")
        repository, _, tag = reference.rpartition(":")
        if "/" in tag or not repository:  # the colon was a registry's port, not a tag
            tag = ""
        assert tag or digest, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: `latest` is not a pin"
        assert digest or re.match(r"v?\d+\.\d+", tag), f"{name}: {image} names no version"


def test_every_dependency_waits_on_health_or_completion(services: Services) -> None:
    shots = one_shots(services)
    for name, service in services.items():
        depends_on = service.get("depends_on")
        if depends_on is None:
            continue
        assert isinstance(depends_on, dict), f"{name}: depends_on as a list has no condition"
        for dependency, spec in depends_on.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = spec.get("condition")
            assert condition in HEALTH_CONDITIONS, f"{name} -> {dependency}: {condition}"
            if condition == "service_healthy":
                assert dependency not in shots
                assert "test" in services[dependency].get("healthcheck", {}), dependency
            else:
                assert services[dependency].get("restart") == "no", f"{dependency} must run once"


def test_every_long_running_service_has_a_healthcheck(services: Services) -> None:
    shots = one_shots(services)
    assert shots == {"topics"}
    for name, service in services.items():
        if name in shots:
            continue
        healthcheck = service.get("healthcheck", {})
        assert not healthcheck.get("disable"), f"{name}: healthcheck disabled"
        assert healthcheck.get("test"), f"{name}: no healthcheck"
        assert {"interval", "timeout", "retries"} <= healthcheck.keys(), name
        assert service.get("restart") in {"unless-stopped", "always"}, name


def test_required_variables_fail_fast() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    seen: set[str] = set()
    for match in interpolations(text):
        name, op, message = match["name"], match["op"], match["arg"]
        seen.add(name)
        if name in REQUIRED_VARIABLES:
            assert op == ":?", f"{match[0]}: a required variable must be written ${{{name}:?...}}"
            assert message.strip(), f"{match[0]}: say what to set"
        else:
            # an unset optional variable silently becomes "": give it a default or require it
            assert op in {":-", ":?"}, f"{match[0]}: no default and not required"
    assert seen >= REQUIRED_VARIABLES
    bare = re.findall(r"(?<!\$)\$(?![${])[A-Za-z_]\w*", text)
    assert not bare, f"write ${{VAR:-default}} or ${{VAR:?message}}, not {bare}"


def test_secrets_come_only_from_required_variables(services: Services) -> None:
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key:
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), f"{name}: {key}"


def test_two_engine_replicas_and_one_api_replica_of_the_same_image(services: Services) -> None:
    engines, apis = replicas(services, "engine"), replicas(services, "api")
    assert len(engines) == 2
    assert len(apis) == 1
    images = set()
    for name in [*engines, *apis, "topics"]:
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "Dockerfile"}, name
        assert (DEPLOY / service["build"]["context"]).resolve() == ROOT
        images.add(service["image"])
    assert len(images) == 1, images
    assert services[apis[0]].get("ports") == ["${MR_API_PORT:-8000}:8000"]
    assert services["topics"]["command"] == ["topics"]
    for name in [*engines, *apis]:
        assert set(services[name]["depends_on"]) == {"kafka", "postgres", "topics"}


def test_service_commands_are_accepted_by_the_cli(services: Services) -> None:
    for name, service in services.items():
        if not service.get("image", "").startswith("market-reaction:"):
            continue
        command = service["command"]
        try:
            _parser().parse_args(command)
        except SystemExit:
            pytest.fail(f"{name}: services/cli.py refuses `market-reaction {' '.join(command)}`")


def test_service_environment_names_are_settings(services: Services) -> None:
    """Settings ignores unknown MR_* variables, so a misspelt one would be silently dropped."""
    known = {f"MR_{field.upper()}" for field in Settings.model_fields}
    for name, service in services.items():
        for key in service.get("environment") or {}:
            if key.startswith("MR_"):
                assert key in known, f"{name}: {key} is not a setting of services/settings.py"


def test_kafka_runs_kraft_with_both_roles_on_one_node(services: Services) -> None:
    kafka = services["kafka"]
    assert re.fullmatch(r"apache/kafka:4\.1\.\d+", kafka["image"])
    environment = kafka["environment"]
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert (
        environment["KAFKA_CONTROLLER_QUORUM_VOTERS"]
        == f"{environment['KAFKA_NODE_ID']}@kafka:9093"
    )
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in kafka["healthcheck"]["test"]
    for service in services.values():
        bootstrap = (service.get("environment") or {}).get("MR_KAFKA_BOOTSTRAP")
        assert bootstrap in {None, "kafka:9092"}
        assert "PLAINTEXT://kafka:9092" in environment["KAFKA_ADVERTISED_LISTENERS"]


def test_database_url_points_at_the_postgres_service(services: Services) -> None:
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:17\.\d+(-\w+)?", postgres["image"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    for name in [*replicas(services, "engine"), *replicas(services, "api")]:
        url = urlsplit(resolve_defaults(services[name]["environment"]["MR_DATABASE_URL"]))
        assert url.scheme == "postgresql+asyncpg", name
        assert url.hostname == "postgres", name
        assert url.path == f"/{postgres['environment']['POSTGRES_DB']}", name
        assert url.username == postgres["environment"]["POSTGRES_USER"], name
        assert url.password == "required", f"{name}: the password is POSTGRES_PASSWORD's"


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path -> host path (relative to deploy/) of the service's bind mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            mounts[target] = source
    return mounts


def test_bind_mounts_exist(services: Services) -> None:
    for name, service in services.items():
        for target, source in bind_mounts(service).items():
            assert (DEPLOY / source).exists(), f"{name}: {source} -> {target} does not exist"


def test_prometheus_scrapes_every_replica_by_service_name(services: Services) -> None:
    prometheus = services["prometheus"]
    mounts = bind_mounts(prometheus)
    assert mounts["/etc/prometheus"] == "./prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    config = load_yaml(PROMETHEUS_CONFIG)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == SCRAPE_JOB]
    scraped = {
        target: group["labels"]["role"]
        for group in job["static_configs"]
        for target in group["targets"]
    }
    expected = {f"{name}:8000": "engine" for name in replicas(services, "engine")}
    expected |= {f"{name}:8000": "api" for name in replicas(services, "api")}
    assert scraped == expected
    (relabel,) = [r for r in job["relabel_configs"] if r.get("target_label") == "instance"]
    assert re.fullmatch(relabel["regex"], "engine-1:8000")
    assert (
        re.sub(
            f"^(?:{relabel['regex']})$",
            relabel["replacement"].replace("$1", r"\1"),
            "engine-1:8000",
        )
        == "engine-1"
    )


def test_grafana_is_provisioned_from_the_mounted_folders(services: Services) -> None:
    grafana = services["grafana"]
    mounts = bind_mounts(grafana)
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    (provider,) = load_yaml(GRAFANA_DASHBOARDS)["providers"]
    dashboards_path = provider["options"]["path"]
    assert mounts[dashboards_path] == "./grafana/dashboards"
    home = PurePosixPath(grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert str(home.parent) == dashboards_path
    assert (DEPLOY / "grafana" / "dashboards" / home.name).is_file()
    (datasource,) = load_yaml(GRAFANA_DATASOURCE)["datasources"]
    url = urlsplit(datasource["url"])
    assert url.hostname in services
    assert url.hostname == "prometheus"
    assert url.port == 9090


@pytest.mark.parametrize("name", ["engine-1", "engine-2", "api"])
def test_replica_healthcheck_asks_readiness(services: Services, name: str) -> None:
    test = services[name]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "urllib.request.urlopen('http://127.0.0.1:8000/readyz'" in test[3]
    compile(test[3], f"{name} healthcheck", "exec")
