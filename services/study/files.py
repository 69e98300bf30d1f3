"""An event study over files (`market-reaction study`), for analysts without a running service."""

from __future__ import annotations

from pathlib import Path

from services.engine import load_registry
from services.events import Announcement, Price
from services.frames import prices_frame
from services.ingest.stories import StoryBook, StoryRules, split_stories
from services.replay.files import read_models
from services.study.assemble import assemble_study
from services.study.closes import SessionCloses
from services.study.params import StudyParams
from services.study.result import StudyResult
from services.study.select import EventFilter


def study_files(
    announcements: str,
    prices: str,
    symbol: str,
    params: StudyParams,
    where: EventFilter | None = None,
    instruments: Path | None = None,
    stories: StoryRules | None = None,
) -> StudyResult:
    """Read the files (JSON lines or CSV, as `replay` does) and run the study; announcements are
    told into stories first, as the live path and `replay` do, so an echo never counts twice."""
    registry = load_registry(instruments)
    anns, _echoes = split_stories(
        StoryBook(stories or StoryRules()), read_models(announcements, Announcement)
    )
    frame = prices_frame(read_models(prices, Price))
    closes = SessionCloses(registry).of_prices(frame)
    return assemble_study(anns, closes, registry, symbol, params, where)
