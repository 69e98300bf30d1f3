"""`market-reaction replay`: the live engine over files, for backfills and audits (`run`), reading
and writing the contracts' files (`files`)."""

from services.replay.exceptions import ReplayError
from services.replay.files import read_models
from services.replay.run import run_replay

__all__ = ["ReplayError", "read_models", "run_replay"]
