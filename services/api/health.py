"""Liveness, readiness and the Prometheus scrape endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.deps import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Consumers are assigned and running",
    responses={503: {"description": "Not ready; the body says which part is not"}},
)
async def readyz(runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    ingest = runtime.ingest
    consumers = {c.topic: {"assigned": c.assigned, "lag": c.lag} for c in ingest.consumers}
    ready = ingest.ready
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", "consumers": consumers}
    if ingest.failure is not None:
        body["failure"] = repr(ingest.failure)
    return body


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)
