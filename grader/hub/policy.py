"""When feedback reaches a student, and what it shows: the instructor's choice, set in the
course's ``nbgrader_config.py`` as ``c.FeedbackPolicy.<name>`` (documented there and in
``docs/classroom.md``)."""

from __future__ import annotations

from traitlets import Enum, Float, Int
from traitlets.config import Config, Configurable


class FeedbackPolicy(Configurable):
    """The classroom's feedback-on-submit rules."""

    release = Enum(
        ["on_submit", "after_due"],
        default_value="on_submit",
        help="on_submit: feedback is released as soon as a submission is graded; after_due: "
        "graded at once, released when the assignment's due date has passed.",
    ).tag(config=True)
    before_due = Enum(
        ["public", "all"],
        default_value="public",
        help="What feedback shows before the due date. public: the tests without hidden parts "
        "(result and message) and the total score, so that hidden tests cannot be read off "
        "feedback; all: every test's result and message. After the due date: everything.",
    ).tag(config=True)
    per_hour = Int(
        6,
        min=1,
        help="Graded submissions per student and assignment in any hour. A submission over the "
        "limit is kept and graded when the hour allows; the student is told so in its feedback.",
    ).tag(config=True)
    counts = Enum(
        ["last"],
        default_value="last",
        help="Which graded submission the gradebook keeps: the last one, as nbgrader does.",
    ).tag(config=True)
    poll_seconds = Float(1.0, min=0.1, help="How often the service looks for new submissions.").tag(
        config=True
    )


def read_policy(config: Config) -> FeedbackPolicy:
    """The policy set in a course's configuration (defaults for what it does not set)."""
    return FeedbackPolicy(config=config)
