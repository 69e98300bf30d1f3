"""Errors of the study package, under one base."""


class StudyError(Exception):
    """Base of every study error."""


class StudyParamsError(StudyError):
    """The study's parameters contradict each other (window order, overlap, model)."""


class StudyInputError(StudyError):
    """A file of the study cannot be read or holds an invalid record."""
