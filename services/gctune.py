"""The garbage collector and the C allocator set for a long-running streaming process.

CPython collects its youngest generation every 700 new container objects, and from time to time
every generation, scanning every object alive. A consumer allocates several objects per record
(the client's record, its values, an identity), so at tens of thousands of records a second the
collector ran hundreds of times a second over the engine's state and the dedupe window: half of
an engine replica's CPU time. Everything made at start-up (modules, the app, its settings) is
moved out of the collector's sight (`gc.freeze`), and the youngest generation is collected after
`young_threshold` allocations instead; cycles are still collected, only less often.

glibc's malloc maps a block larger than its mmap threshold on its own and unmaps it when freed,
and gives the free memory at the top of its heap back to the kernel once it exceeds its trim
threshold; both thresholds adapt to what was freed, within bounds. The engine makes a batch's
columns (one value per revision: hundreds of KB to a few MB each) and frees them when the batch
is sent, so they were given back and their pages faulted in again at every batch (a tenth of
the engine's CPU where a batch sends tens of thousands of revisions). `tune_allocator` fixes
both thresholds, so such blocks come from the heap and are reused; the price is up to the trim
threshold of free memory kept by the process. `tune_process` sets both as the settings say, for
every command that runs the engine (`serve`, `replay`) and the benchmarks that measure it.
"""

from __future__ import annotations

import ctypes
import gc
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.settings import Settings

log = logging.getLogger(__name__)

# mallopt's parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_process(settings: Settings) -> bool:
    """The collector and the allocator set as `settings` say; whether the allocator took its
    thresholds."""
    tune_collector(settings.gc_young_threshold)
    return tune_allocator(
        settings.malloc_mmap_threshold_bytes, settings.malloc_trim_threshold_bytes
    )


def tune_collector(young_threshold: int) -> None:
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)


def tune_allocator(mmap_threshold_bytes: int | None, trim_threshold_bytes: int | None) -> bool:
    """Sets glibc malloc's mmap and trim thresholds (None: the one left adaptive, unless the
    other is set: glibc then fixes both); whether the C library took them (a warning is logged
    where it has no `mallopt` or refuses a value)."""
    wanted = [
        (option, name, value)
        for option, name, value in (
            (_M_MMAP_THRESHOLD, "mmap threshold", mmap_threshold_bytes),
            (_M_TRIM_THRESHOLD, "trim threshold", trim_threshold_bytes),
        )
        if value is not None
    ]
    if not wanted:
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        log.warning("the C library has no mallopt: the allocator's thresholds are left as they are")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    for option, name, value in wanted:
        if mallopt(option, value) != 1:
            log.warning("the C library refused the allocator's %s %d", name, value)
            return False
    return True
