"""The garbage collector set for a long-running streaming process.

CPython collects its youngest generation every 700 new container objects, and from time to time
every generation, scanning every object alive. A consumer allocates several objects per record
(the client's record, its values, an identity), so at tens of thousands of records a second the
collector ran hundreds of times a second over the engine's state and the dedupe window: half of
an engine replica's CPU time. Everything made at start-up (modules, the app, its settings) is
moved out of the collector's sight (`gc.freeze`), and the youngest generation is collected after
`young_threshold` allocations instead; cycles are still collected, only less often.
"""

from __future__ import annotations

import gc


def tune_collector(young_threshold: int) -> None:
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
