"""The collector setting `serve` applies."""

import gc
from collections.abc import Iterator

import pytest

from services.gctune import tune_collector


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
def test_the_young_generation_waits_longer_and_start_up_objects_are_frozen() -> None:
    _, middle, old = gc.get_threshold()
    tune_collector(50_000)
    assert gc.get_threshold() == (50_000, middle, old)
    assert gc.get_freeze_count() > 0
