"""Errors of the intake."""


class IntakeError(Exception):
    """Base of the intake's errors."""


class AnnouncementConflict(IntakeError):
    """The id is taken by an announcement with other content (a correction needs a new id)."""


class BrokerUnavailable(IntakeError):
    """Kafka did not acknowledge the announcement: nothing was accepted."""


class FetchFailed(IntakeError):
    """A source answered with an error, timed out or could not be reached."""


class MalformedDocument(IntakeError):
    """A source's answer could not be read as its format."""


class SourcesConfigError(IntakeError):
    """The sources file is missing, unreadable or invalid."""
