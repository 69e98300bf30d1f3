"""Liveness, readiness and the Prometheus scrape endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.deps import Runtime, RuntimeDep
from services.store.exceptions import StoreUnavailable

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="The process is up and none of its consumers has stopped",
    responses={503: {"description": "A consumer stopped: restart the process"}},
)
async def healthz(request: Request, response: Response) -> dict[str, str]:
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    failure = None if runtime is None or runtime.ingest is None else runtime.ingest.failure
    if failure is None:
        return {"status": "ok"}
    response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "consumer stopped", "detail": type(failure).__name__}


@router.get(
    "/readyz",
    summary="The store answers and this role's Kafka readers are assigned",
    responses={503: {"description": "Not ready; the body says which part is not"}},
)
async def readyz(runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    checks: dict[str, dict[str, Any]] = {}
    if runtime.store is not None:
        try:
            await runtime.store.ping()
            checks["store"] = {"ok": True}
        except StoreUnavailable as exc:
            checks["store"] = {"ok": False, "detail": str(exc)}
    if runtime.ingest is not None:
        for consumer in runtime.ingest.consumers:
            checks[consumer.topic] = {
                "ok": consumer.assigned,
                "partitions": consumer.partitions,
                "lag": consumer.lag,
            }
        if runtime.ingest.failure is not None:
            checks["ingest"] = {"ok": False, "detail": repr(runtime.ingest.failure)}
    if runtime.feed is not None:
        checks["signals feed"] = {"ok": runtime.feed.assigned}
    for dependency, outage in runtime.outages.current().items():
        checks[dependency] = {
            "ok": False,
            "detail": outage.last_error,
            "failures": outage.failures,
        }
    ready = all(check["ok"] for check in checks.values())
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "ready" if ready else "not ready", "checks": checks}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)
