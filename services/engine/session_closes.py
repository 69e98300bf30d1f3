"""The session closes of every instrument (the last observation in [open, close] of each session),
which feed the significance baseline (baselines.py).

A batch moves the close of each instrument's latest session, so that one is kept in arrays
indexed by instrument code and updated for all instruments at once; the closes of earlier
sessions (fixed unless late data changes them) are kept in a dict per instrument.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Closes = dict[int, tuple[int, float]]
"""Session index → (observation time, close) of its last observation."""
_NONE = -1


class SessionCloses:
    """Closes by instrument code; every session of `older[code]` precedes `latest_session[code]`."""

    def __init__(self, n_codes: int) -> None:
        self.latest_session = np.full(n_codes, _NONE, dtype=np.int64)
        self.latest_obs_us = np.zeros(n_codes, dtype=np.int64)
        self.latest_close = np.zeros(n_codes, dtype=np.float64)
        self.older: list[Closes] = [{} for _ in range(n_codes)]

    def get(self, code: int, session: int) -> tuple[int, float] | None:
        if session == self.latest_session[code]:
            return int(self.latest_obs_us[code]), float(self.latest_close[code])
        return self.older[code].get(session)

    def of(self, code: int) -> Closes:
        """A copy of every close of instrument `code`."""
        out = dict(self.older[code])
        latest = int(self.latest_session[code])
        if latest != _NONE:
            out[latest] = (int(self.latest_obs_us[code]), float(self.latest_close[code]))
        return out

    def load(self, code: int, closes: Closes) -> None:
        """Replace the closes of instrument `code`."""
        self.clear(code)
        if closes:
            latest = max(closes)
            self.older[code] = {s: c for s, c in closes.items() if s != latest}
            self._set_latest(code, latest, *closes[latest])

    def clear(self, code: int) -> None:
        self.latest_session[code] = _NONE
        self.older[code] = {}

    def drop_before(self, code: int, oldest: int) -> None:
        """Forget the closes of sessions before `oldest`."""
        older = self.older[code]
        for session in [s for s in older if s < oldest]:
            del older[session]
        if self.latest_session[code] < oldest:
            self.latest_session[code] = _NONE

    def record(self, codes: I64, sessions: I64, obs_us: I64, close: F64) -> Mask:
        """Rows that are each the last observation of a (code, session), at most one per pair,
        in (code, session) order; whether each is its session's last so far (its close
        changed)."""
        same = sessions == self.latest_session[codes]
        cur_us, cur_close = self.latest_obs_us[codes], self.latest_close[codes]
        later = same & ((obs_us > cur_us) | ((obs_us == cur_us) & (close > cur_close)))
        moved = codes[later]
        self.latest_obs_us[moved] = obs_us[later]
        self.latest_close[moved] = close[later]
        changed: Mask = later.copy()
        # a new session (once a session per instrument) or late data of an earlier one
        for j in np.flatnonzero(~same).tolist():
            changed[j] = self._record_one(
                int(codes[j]), int(sessions[j]), int(obs_us[j]), float(close[j])
            )
        return changed

    def _record_one(self, code: int, session: int, obs_us: int, close: float) -> bool:
        latest = int(self.latest_session[code])
        if session > latest:
            if latest != _NONE:
                self.older[code][latest] = (
                    int(self.latest_obs_us[code]),
                    float(self.latest_close[code]),
                )
            self._set_latest(code, session, obs_us, close)
            return True
        older = self.older[code]
        cur = older.get(session)
        if cur is not None and (obs_us, close) <= cur:
            return False
        older[session] = (obs_us, close)
        return True

    def _set_latest(self, code: int, session: int, obs_us: int, close: float) -> None:
        self.latest_session[code] = session
        self.latest_obs_us[code] = obs_us
        self.latest_close[code] = close
