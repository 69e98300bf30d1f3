"""Precision and recall of the extractor against labelled headlines (tests and `make bench`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Score:
    correct: int
    predicted: int
    expected: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0


def score_sets(pairs: Iterable[tuple[Iterable[str], Iterable[str]]]) -> Score:
    """Micro-averaged over (found, expected) sets, e.g. target countries per headline."""
    correct = predicted = expected = 0
    for found, wanted in pairs:
        f, w = set(found), set(wanted)
        correct += len(f & w)
        predicted += len(f)
        expected += len(w)
    return Score(correct, predicted, expected)


def score_labels(pairs: Iterable[tuple[str, str]], *, unknown: str) -> Score:
    """(found, expected) labels where `unknown` means no answer (e.g. action "other")."""
    correct = predicted = expected = 0
    for found, wanted in pairs:
        predicted += found != unknown
        expected += wanted != unknown
        correct += found == wanted != unknown
    return Score(correct, predicted, expected)
