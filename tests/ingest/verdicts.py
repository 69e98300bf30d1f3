"""The model's verdict on a price record: what the columnar paths of ingest must agree with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.ingest.decode import Rejection, decode_price
from services.ingest.fastprice import row_of

EXAMPLES = Path(__file__).parents[2] / "schemas" / "examples" / "price"


def by_model(value: bytes | None) -> tuple[str, Any]:
    """("row", its row) for an accepted record, ("rejected", the Rejection) otherwise."""
    verdict = decode_price(value)
    if isinstance(verdict, Rejection):
        return "rejected", verdict
    return "row", row_of(verdict)
