"""The sources file (TOML, `MR_SOURCES_FILE`; the packaged `sources.toml` by default)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.sources.exceptions import SourcesConfigError


class SourceConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
    """Also the announcements' `source` and the metrics' label."""
    kind: Literal["federal_register", "feed"]
    url: str
    interval_s: Annotated[float, Field(gt=0)] = 300.0
    timeout_s: Annotated[float, Field(gt=0)] = 20.0
    require_any: list[str] = []
    """Words of which an item must hold one (title or summary); empty: every item."""
    backoff_base_s: Annotated[float, Field(gt=0)] = 5.0
    backoff_cap_s: Annotated[float, Field(gt=0)] = 600.0


class SourcesFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: list[SourceConfig]


def load_sources(path: Path | None = None) -> list[SourceConfig]:
    try:
        text = (
            path.read_text()
            if path
            else resources.files("services.sources").joinpath("sources.toml").read_text()
        )
        sources = SourcesFile.model_validate(tomllib.loads(text)).source
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise SourcesConfigError(f"sources file {path or 'sources.toml'}: {exc}") from exc
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise SourcesConfigError("sources file: each source needs its own name")
    return sources
