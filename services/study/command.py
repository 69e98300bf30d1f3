"""The `study` sub-command's arguments; the work is imported when it runs (a fast CLI start)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from services.settings import Settings
from services.study.params import MODELS


def add_study_command(commands: Any) -> None:
    """Register `study` on the CLI's sub-command parsers."""
    study = commands.add_parser(
        "study", help="an event study over files: CAAR, its path and the standard tests"
    )
    study.add_argument("--announcements", required=True, metavar="FILE", help="JSON lines or CSV")
    study.add_argument("--prices", required=True, metavar="FILE", help="JSON lines or CSV")
    study.add_argument("--instrument", required=True, help="e.g. KOSPI")
    study.add_argument("--action", help="only announcements with this action, e.g. impose")
    study.add_argument("--sector", help="only announcements naming this sector")
    study.add_argument("--target", help="only announcements targeting this country, e.g. KR")
    study.add_argument("--model", choices=MODELS, default="mean", help="default: mean")
    study.add_argument("--window", type=_pair, default=(0, 5), metavar="T1,T2", help="0,5")
    study.add_argument(
        "--estimation", type=_pair, default=(-130, -11), metavar="E1,E2", help="-130,-11"
    )
    study.add_argument("--exclude-confounded", action="store_true")
    study.add_argument("--instruments", type=Path, metavar="TOML", help="instrument registry")
    study.add_argument("--out", default="-", metavar="FILE", help="JSON (default -: stdout)")
    study.add_argument("--plot", type=Path, metavar="PNG", help="draw the CAAR path and CARs")
    study.set_defaults(command=run_study_command)


def run_study_command(args: argparse.Namespace, settings: Settings) -> int:
    from services.engine.exceptions import EngineError
    from services.ingest.stories import rules_from
    from services.study.exceptions import StudyError
    from services.study.files import study_files
    from services.study.params import StudyParams
    from services.study.select import EventFilter

    try:
        params = StudyParams(
            model=args.model,
            window=args.window,
            estimation=args.estimation,
            exclude_confounded=args.exclude_confounded,
        )
        where = EventFilter(action=args.action, sector=args.sector, target=args.target)
        result = study_files(
            args.announcements,
            args.prices,
            args.instrument,
            params,
            where,
            args.instruments or settings.instruments_file,
            rules_from(settings),
        )
        text = json.dumps(result.as_dict(), indent=2) + "\n"
        if args.out == "-":
            sys.stdout.write(text)
        else:
            Path(args.out).write_text(text, encoding="utf-8")
        if args.plot is not None:
            from services.study.plot import plot_study

            plot_study(result, args.plot)
    except (EngineError, StudyError, OSError) as exc:
        print(f"market-reaction study: {exc}", file=sys.stderr)
        return 2
    return 0


def _pair(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected two integers like -5,20, not {text!r}"
        ) from None
    return a, b
