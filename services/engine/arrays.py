"""Arrays joined end to end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


def joined(arrays: Sequence[npt.NDArray[Any]]) -> npt.NDArray[Any]:
    """`arrays` one after the other; the array itself where there is one (not copied: for
    reading only)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
