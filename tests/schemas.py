"""The JSON Schemas of the event contracts (`schemas/`), loaded and as validators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).parents[1] / "schemas"


def load_schema(event: str) -> dict[str, Any]:
    schema: dict[str, Any] = orjson.loads((SCHEMAS / f"{event}.v1.schema.json").read_bytes())
    return schema


def validator(event: str) -> Draft202012Validator:
    """Draft 2020-12, with jsonschema's format checker."""
    return Draft202012Validator(
        load_schema(event), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
