"""The grading of IntroKerasTF means something (the tests are in `suite.py`)."""

from tests.validity.suite import *  # noqa: F403

NOTEBOOK = "IntroKerasTF"
