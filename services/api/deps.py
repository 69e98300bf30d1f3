"""Long-lived resources reach routes through these dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from services.ingest.service import IngestService


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the app's lifespan started."""

    registry: CollectorRegistry
    ingest: IngestService


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
