"""Exponential back-off, capped: the wait after the n-th failure in a row."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 5.0
    cap_s: float = 600.0

    def delay_s(self, failures: int) -> float:
        """0 failures: no wait beyond the source's interval."""
        if failures <= 0:
            return 0.0
        return min(self.cap_s, self.base_s * 2.0 ** min(failures - 1, 32))
