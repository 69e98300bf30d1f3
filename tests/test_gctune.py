"""The collector and allocator settings `serve` applies."""

import ctypes
import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.gctune import tune_collector
from services.settings import Settings, process_environment

ROOT = Path(__file__).resolve().parents[1]


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


# A fresh interpreter (the thresholds are the process's for good) makes and frees a block of
# `size` bytes, tuned as `serve` tunes by default or not, and tells where it was: in a mapping
# of its own (unmapped when freed), or in the heap, kept there once freed (glibc's mallinfo2).
_BLOCK_FATE = """
import ctypes, json, sys
import numpy as np
from services.gctune import tune_allocator
from services.settings import Settings, process_environment

fields = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in fields.split()]
mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Info
settings = Settings()
tuned = sys.argv[2] == "tuned" and tune_allocator(
    settings.malloc_mmap_threshold_bytes, settings.malloc_trim_threshold_bytes
)
before = mallinfo2().hblkhd
block = np.ones(int(sys.argv[1]), dtype=np.uint8)
mapped = mallinfo2().hblkhd - before
del block
print(json.dumps({"tuned": tuned, "mapped": mapped, "kept": mallinfo2().keepcost}))
"""


def _block_fate(size: int, how: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _BLOCK_FATE, str(size), how],
        cwd=ROOT,
        env=process_environment(),  # the settings' defaults, as `serve` has them
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    fate: dict[str, int] = json.loads(done.stdout)
    return fate


@pytest.mark.skipif(
    not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc's allocator (mallinfo2) only"
)
def test_a_batch_sized_block_comes_from_the_heap_and_stays_there_once_freed() -> None:
    size = 16 << 20  # the columns of a batch of two million revisions
    untuned = _block_fate(size, "untuned")
    assert untuned["mapped"] >= size  # glibc's own thresholds: mapped, and unmapped when freed

    tuned = _block_fate(size, "tuned")
    assert tuned["tuned"]
    assert tuned["mapped"] == 0
    assert tuned["kept"] >= size  # free at the top of the heap, not given back


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("malloc_mmap_threshold_bytes", 0),
        ("malloc_mmap_threshold_bytes", 2**31),
        ("malloc_trim_threshold_bytes", -1),
    ],
)
def test_an_allocator_threshold_out_of_range_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: int
) -> None:
    monkeypatch.setenv(f"MR_{name.upper()}", str(value))
    with pytest.raises(ValidationError, match=name):
        Settings()


def test_empty_allocator_thresholds_leave_the_allocator_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MR_MALLOC_MMAP_THRESHOLD_BYTES", "")
    monkeypatch.setenv("MR_MALLOC_TRIM_THRESHOLD_BYTES", "")
    settings = Settings()
    assert settings.malloc_mmap_threshold_bytes is None
    assert settings.malloc_trim_threshold_bytes is None
