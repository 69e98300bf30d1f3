"""The sources' rule-based extractor: precision and recall per field on labelled headlines, then
headlines/s at several sizes (prints figures; never asserts on time). Two sets:
tests/sources/headlines.jsonl, which the vocabulary was developed against (the tests check it
row by row), and headlines_heldout.jsonl, written afterwards and never tuned on.

    .venv/bin/python benchmarks/bench_extract.py [--sizes 1000 10000] [--rounds 3]

Precision: of the values the extractor gave, the share that is right; recall: of the labelled
values, the share it found. The extractor holds no cache that grows with its input (patterns are
compiled once per vocabulary), so sizes well past the corpus measure its steady rate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.sources.extract import Extractor
from services.sources.scoring import Score, score_labels, score_sets
from tests.sources.corpus import HELD_OUT, Labelled, load_corpus


def line(name: str, score: Score) -> str:
    return (
        f"  {name:<10} precision {score.precision:.3f}  recall {score.recall:.3f}"
        f"  ({score.correct} right of {score.predicted} given, {score.expected} labelled)"
    )


def print_scores(extractor: Extractor, name: str, rows: list[Labelled]) -> None:
    results = [
        (extractor.extract(r.headline, r.paragraph, published=r.published), r.expected)
        for r in rows
    ]
    print(f"extractor on {len(rows)} labelled headlines ({name} set)")
    print(line("countries", score_sets((e.targets, x["targets"]) for e, x in results)))
    actions = ((e.action, x["action"]) for e, x in results)
    print(line("action", score_labels(actions, unknown="other")))
    print(line("sectors", score_sets((e.sectors, x["sectors"]) for e, x in results)))
    rates = [(_num(e.tariff_rate_pct), _num(x["rate"])) for e, x in results]
    print(line("rate", score_labels(rates, unknown="None")))
    dates = [(str(e.effective_at), str(x["effective"])) for e, x in results]
    print(line("effective", score_labels(dates, unknown="None")))


def _num(value: float | None) -> str:
    return "None" if value is None else f"{float(value):g}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    corpus = load_corpus()
    extractor = Extractor()
    for name, rows in (("development", corpus), ("held-out", load_corpus(HELD_OUT))):
        print_scores(extractor, name, rows)

    for size in args.sizes:
        rows = [corpus[i % len(corpus)] for i in range(size)]
        rates_per_s = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            for r in rows:
                extractor.extract(r.headline, r.paragraph, published=r.published)
            rates_per_s.append(size / (time.perf_counter() - start))
        print(
            f"  {size:>7,} headlines: min {min(rates_per_s):,.0f}/s  median "
            f"{statistics.median(rates_per_s):,.0f}/s  max {max(rates_per_s):,.0f}/s"
            f"  ({args.rounds} rounds)"
        )


if __name__ == "__main__":
    main()
