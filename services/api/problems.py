"""RFC 9457 problem details (`application/problem+json`) for every error the API returns."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.store.exceptions import StoreUnavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger(__name__)


class Problem(BaseModel):
    """An error, as RFC 9457 describes it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/invalid-parameter",
                    "title": "Invalid parameter",
                    "status": 400,
                    "detail": "from (2025-08-01T00:00:00Z) is after to (2025-07-01T00:00:00Z)",
                    "instance": "/v1/reactions",
                }
            ]
        }
    )

    type: str = "about:blank"
    """A URI reference naming the kind of problem."""
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    """The request path."""
    errors: list[dict[str, Any]] | None = None
    """For validation problems: one entry per invalid input (`loc`, `msg`, `type`)."""


class ProblemError(Exception):
    """Raise from a route to answer with a problem."""

    def __init__(self, status: int, detail: str, *, kind: str, title: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.title = title or HTTPStatus(status).phrase


def invalid_parameter(detail: str) -> ProblemError:
    return ProblemError(400, detail, kind="invalid-parameter", title="Invalid parameter")


def not_found(detail: str) -> ProblemError:
    return ProblemError(404, detail, kind="not-found", title="Not found")


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None,
    *,
    kind: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=f"/problems/{kind}" if kind else "about:blank",
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": Problem,
        "description": HTTPStatus(status).phrase,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status in (400, 422)
}
"""For a route's `responses=`: documents the problem bodies (and replaces FastAPI's 422 schema)."""

NOT_FOUND_RESPONSE: dict[int | str, dict[str, Any]] = {
    404: {**PROBLEM_RESPONSES[400], "description": "Not Found"}
}


def install_problem_handlers(app: FastAPI) -> None:
    """Answer HTTP errors, validation errors and unexpected failures with problem details."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(request, exc.status, exc.title, exc.detail, kind=exc.kind)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(
            request,
            exc.status_code,
            HTTPStatus(exc.status_code).phrase,
            exc.detail if isinstance(exc.detail, str) else None,
            headers=exc.headers,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem_response(
            request, 422, "Invalid request", detail, kind="validation", errors=errors
        )

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("store unavailable on %s %s: %r", request.method, request.url.path, exc)
        return problem_response(
            request,
            503,
            "Service Unavailable",
            "the store does not answer; try again shortly",
            kind="store-unavailable",
            headers={"Retry-After": "5"},
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(request, 500, "Internal Server Error", None)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    for unavailable in STORE_UNAVAILABLE:
        app.add_exception_handler(unavailable, on_unavailable)
    app.add_exception_handler(Exception, on_unexpected)


def unprocessable(detail: str) -> ProblemError:
    """Parameters each valid alone that cannot be served together (e.g. a study's windows)."""
    return ProblemError(422, detail, kind="unprocessable", title="Unprocessable parameters")


STORE_UNAVAILABLE: tuple[type[Exception], ...] = (
    StoreUnavailable,
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)
"""Failures of a request that mean the database is down or restarting (503), not a bug (500)."""
