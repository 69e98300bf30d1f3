"""What replay raises."""

from services.engine.exceptions import EngineError


class ReplayError(EngineError):
    """Bad replay input (names the file and line) or an unsupported replay option."""
