"""How the service serves the console: the page revalidated on every load, the bundles (their
names carry a content hash) cached for a year; an unbuilt console is a clear 503 problem."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.api.problems import install_problem_handlers
from services.console import STATIC_DIR, mount_console


def console_app(static_dir: Path) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    mount_console(app, static_dir)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console")


async def test_the_page_is_revalidated_and_its_hashed_bundles_cached_for_good() -> None:
    assert (STATIC_DIR / "index.html").is_file(), "the console is not built: `make install`"
    async with client(console_app(STATIC_DIR)) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        bundles = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
        assert len(bundles) == 2, bundles
        for bundle in bundles:
            assert re.search(r"-[A-Z0-9]{8}\.(js|css)$", bundle), f"{bundle}: no content hash"
            asset = await http.get(bundle)
            assert asset.status_code == 200, bundle
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert asset.content
        missing = await http.get("/assets/main-00000000.js")
        assert missing.status_code == 404


async def test_an_unbuilt_console_answers_with_a_problem(tmp_path: Path) -> None:
    async with client(console_app(tmp_path)) as http:
        response = await http.get("/")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "make install" in response.json()["detail"]
