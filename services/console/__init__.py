"""The desk console: the web page at `/`, built from `web/` by `make install` into `static/`.

Bundles have content-hashed names, so browsers keep them for a year; `index.html` names the
current ones and is revalidated on every load."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from services.api.problems import ProblemError

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_CACHE = "public, max-age=31536000, immutable"
INDEX_CACHE = "no-cache"


class HashedAssets(StaticFiles):
    """Static files whose names change with their content: cached for good."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = ASSETS_CACHE
        return response


def mount_console(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    """`/` serves the page, `/assets/` its bundles; the API stays under `/v1`."""
    index = static_dir / "index.html"

    @app.get("/", include_in_schema=False)
    async def console() -> FileResponse:
        if not index.is_file():
            raise ProblemError(
                503,
                "the web console is not built: `make install` builds it",
                kind="console-not-built",
            )
        return FileResponse(index, headers={"Cache-Control": INDEX_CACHE})

    app.mount(
        "/assets",
        HashedAssets(directory=static_dir / "assets", check_dir=False),
        name="console-assets",
    )
