"""``results.json``: one submission's results as data (Gradescope's fields plus ``gradable``).

Top level: ``score``, ``max_score``, ``execution_time`` (seconds), ``tests[]`` (``name``,
``score``, ``max_score``, ``status`` = ``passed``/``failed``, ``output``, ``visibility``), plus
``gradable`` (False when a notebook could not be graded: the student is not to be penalised, a
human looks), ``reasons`` (why not gradable, or what was repaired), ``flags`` (tampering found),
``manual`` (answers a human grades), ``notebooks`` (per-notebook summary), ``fingerprint``
(what was graded, so that a rerun skips it) and ``engine``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.course import Course

RESULTS_NAME = "results.json"
FORMAT = 1


@dataclass
class TestResult:
    """One autograded test, in Gradescope's shape."""

    __test__ = False  # not a pytest test class

    name: str
    score: float
    max_score: float
    status: str  # "passed" or "failed"
    output: str = ""
    visibility: str = "visible"


@dataclass
class NotebookSummary:
    """How one notebook of the submission went."""

    name: str
    gradable: bool
    score: float
    max_score: float
    execution_time: float
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass
class SubmissionResults:
    """Everything ``results.json`` holds for one student's submission of one assignment."""

    assignment: str
    student: str
    tests: list[TestResult] = field(default_factory=list)
    notebooks: list[NotebookSummary] = field(default_factory=list)
    manual: list[dict[str, Any]] = field(default_factory=list)
    execution_time: float = 0.0
    fingerprint: str = ""
    engine: str = ""

    @property
    def score(self) -> float:
        """Sum of the autograded tests' scores."""
        return round(sum(t.score for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        """Sum of the autograded tests' maximum scores."""
        return round(sum(t.max_score for t in self.tests), 6)

    @property
    def gradable(self) -> bool:
        """False when any notebook could not be graded."""
        return all(n.gradable for n in self.notebooks)

    def to_json(self) -> dict[str, Any]:
        """The JSON document (Gradescope's fields first)."""
        reasons = [f"{n.name}: {r}" for n in self.notebooks for r in n.reasons]
        flags = [f"{n.name}: {f}" for n in self.notebooks for f in n.flags]
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 3),
            "tests": [asdict(t) for t in self.tests],
            "gradable": self.gradable,
            "reasons": reasons,
            "flags": flags,
            "manual": self.manual,
            "notebooks": [asdict(n) for n in self.notebooks],
            "assignment": self.assignment,
            "student": self.student,
            "fingerprint": self.fingerprint,
            "engine": self.engine,
            "format": FORMAT,
        }


def write_json_atomic(path: Path, document: Mapping[str, Any]) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, sort_keys=False)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_results(path: Path) -> dict[str, Any] | None:
    """A results document, or None when missing or unreadable (then the submission regrades)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def iter_results(course: Course, assignment: str) -> Iterator[tuple[str, dict]]:
    """(student, results.json document) for every graded submission of ``assignment``.

    Reads JSON files only: the report, the exports and the feedback import nothing of the
    grading machinery (Dask, the zygote) to read them.
    """
    base = Path(course.coursedir.format_path(course.coursedir.autograded_directory, ".", "."))
    if not base.is_dir():
        return
    for folder in sorted(base.resolve().iterdir()):
        if folder.name.startswith("."):
            continue
        document = read_results(folder / assignment / RESULTS_NAME)
        if document is not None:
            yield folder.name, document
