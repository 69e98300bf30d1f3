"""The /v1 REST API: announcements, reactions, statistics and prices, read from the store."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI, params
from prometheus_client import CollectorRegistry

from services.api.body_limit import BodyLimit
from services.api.deps import Runtime
from services.api.problems import install_problem_handlers
from services.api.v1 import announcements, prices, reactions, stats, stories, studies, submit
from services.api.v1.deps import ApiLimits
from services.engine.registry import InstrumentRegistry, load_registry
from services.store.types import Store
from services.study.closes import load_calendars

__all__ = ["ApiLimits", "create_api_app", "include_v1", "v1_router"]


def v1_router() -> APIRouter:
    router = APIRouter(prefix="/v1")
    for part in (announcements, reactions, stats, prices, studies, submit, stories):
        router.include_router(part.router)
    return router


def include_v1(
    app: FastAPI, limits: ApiLimits, dependencies: Sequence[params.Depends] = ()
) -> None:
    """Mount /v1 on `app`; its routes read `app.state.runtime` (`services.api.deps.Runtime`)."""
    app.state.api_limits = limits
    app.add_middleware(
        BodyLimit, max_bytes=submit.MAX_BODY_BYTES, paths=frozenset({"/v1/announcements"})
    )
    app.include_router(v1_router(), dependencies=dependencies)


def create_api_app(
    store: Store,
    limits: ApiLimits | None = None,
    instruments: InstrumentRegistry | None = None,
) -> FastAPI:
    """The /v1 API alone over an open store (no consumers): for tests and read-only replicas."""
    app = FastAPI(title="market-reaction", version="0.1.0")
    install_problem_handlers(app)
    instruments = instruments or load_registry()
    load_calendars(instruments)  # now, rather than in the first study's request
    app.state.runtime = Runtime(registry=CollectorRegistry(), store=store, instruments=instruments)
    include_v1(app, limits or ApiLimits())
    return app
