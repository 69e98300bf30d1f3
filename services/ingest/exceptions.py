class IngestError(Exception):
    """Base of the ingest errors."""


class SinkRejectedBatch(IngestError):
    """The sink could not take a batch; its offsets stay uncommitted."""
