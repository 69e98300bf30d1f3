"""Event studies (DESIGN §4b): abnormal returns of many announcements on one instrument, and the
tests analysts use to say whether they add up to something."""

from services.study.core import run_study
from services.study.params import Model, StudyParams
from services.study.result import EventResult, StudyResult

__all__ = ["EventResult", "Model", "StudyParams", "StudyResult", "run_study"]
