"""Quiz import and export formats: the AI-For-Beginners quiz-app JSON and Moodle GIFT."""

from __future__ import annotations

from typing import Any


def imported_policy() -> dict[str, Any]:
    """The attempts policy an imported quiz starts with (neither format carries one)."""
    return {
        "max_attempts": 1,
        "feedback": "immediate",
        "grading": "first",
        "shuffle_options": True,
        "multiple_choice_rule": "right-minus-wrong",
    }
