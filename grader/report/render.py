"""Render the class report: collected data + SVG figures -> one static HTML file.

The template (``templates/report.html``) ships in the package and is read with
:mod:`importlib.resources`; the page has no script and loads nothing: styles and figures are
inline, and links to executed notebooks are relative to the report, so the folder can be
copied or served as is.
"""

from __future__ import annotations

import os
import statistics
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from grader.course import Course
from grader.report import ReportError, plots
from grader.report.collect import (
    AssignmentData,
    ConceptRow,
    QuizData,
    collect_assignment,
    collect_quizzes,
    gradebook_assignments,
)
from grader.report.exports import format_number
from grader.report.labels import DIRECTION, duration, labels
from grader.report.similarity import SimilarityData, find_similarity

TEMPLATE = "report.html"


def _template_source(name: str) -> str:
    return resources.files("grader.report").joinpath("templates", name).read_text("utf-8")


def environment(lang: str = "en") -> jinja2.Environment:
    """The Jinja2 environment of the report in ``lang``: package templates, HTML autoescaping
    on, filters for numbers, percentages and durations."""
    words = labels(lang)
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda x: "" if x is None else format_number(float(x))
    env.filters["pct"] = lambda x: "–" if x is None else f"{100 * x:.0f}%"
    env.filters["duration"] = lambda seconds: duration(seconds, words)
    env.filters["fill"] = fill
    return env


def fill(template: str, **values: object) -> markupsafe.Markup:
    """A label with its values filled in, each escaped and isolated in ``<bdi>`` so that an
    English message or a file name keeps its order inside a Hebrew sentence."""
    isolated = {k: markupsafe.Markup("<bdi>{}</bdi>").format(v) for k, v in values.items()}
    return markupsafe.escape(template).format(**isolated)


@dataclass(frozen=True)
class Section:
    """One assignment's part of the page: its data and its figures."""

    data: AssignmentData
    distribution_svg: str
    pass_rates_svg: str
    times_svg: str
    mean: float | None
    median: float | None
    links: dict[tuple[str, str], str]  # (student, notebook) -> relative link
    handed_in: dict[str, list[tuple[str, str]]]  # student -> (file name, link), as submitted
    similarity: SimilarityData | None = None  # pairs and groups to look at (instructor only)
    similarity_note: str = ""  # why there is no similarity report, when asked for one


def _link(target: Path, base: Path) -> str:
    relative = Path(os.path.relpath(target.resolve(), base.resolve()))
    return urllib.parse.quote(relative.as_posix())


def section(
    data: AssignmentData,
    report_dir: Path,
    similarity: SimilarityData | None = None,
    similarity_note: str = "",
) -> Section:
    """Figures, statistics and links for one assignment (and its similarity report)."""
    fractions = [r.fraction for r in data.students if r.scored and r.fraction is not None]
    links = {
        (row.student, nb.name): _link(nb.executed, report_dir)
        for row in data.students
        for nb in row.notebooks
        if nb.executed is not None
    }
    return Section(
        data=data,
        distribution_svg=plots.score_distribution(fractions),
        pass_rates_svg=plots.pass_rates(data.tests),
        times_svg=plots.grading_times(data.grading_times()),
        handed_in={
            row.student: [(path.name, _link(path, report_dir)) for path in row.submitted]
            for row in data.students
        },
        mean=statistics.fmean(fractions) if fractions else None,
        median=statistics.median(fractions) if fractions else None,
        links=links,
        similarity=similarity,
        similarity_note=similarity_note,
    )


def similarity_of(
    course: Course, assignment: str, archive: Path | None = None
) -> tuple[SimilarityData | None, str]:
    """The assignment's similarity report, or None and why there is none (no release)."""
    try:
        return find_similarity(course, assignment, archive), ""
    except ReportError as error:
        return None, str(error)


def render(
    course_id: str,
    title: str,
    sections: Sequence[Section],
    quizzes: QuizData,
    generated: datetime,
    overview: bool = False,
    lang: str = "en",
) -> str:
    """The report page as HTML text; ``overview`` adds the student x assignment table (always
    there when several assignments are shown)."""
    concepts: Sequence[ConceptRow] = quizzes.concepts
    students = sorted({row.student for s in sections for row in s.data.students})
    totals = {
        student: {
            s.data.name: next((r for r in s.data.students if r.student == student), None)
            for s in sections
        }
        for student in students
    }
    context: dict[str, Any] = {
        "lang": lang,
        "direction": DIRECTION[lang],
        "L": labels(lang),
        "course_id": course_id,
        "overview": overview or len(sections) > 1,
        "title": title,
        "sections": sections,
        "students": students,
        "totals": totals,
        "concepts": concepts,
        "concepts_svg": plots.concept_gains(concepts),
        "quiz_note": quizzes.note,
        "quiz_where": quizzes.where,
        "generated": generated.strftime("%Y-%m-%d %H:%M %Z").strip(),
    }
    return environment(lang).get_template(TEMPLATE).render(**context)


def write_report(
    course: Course,
    output: Path,
    assignments: Sequence[str] | None = None,
    quiz_db_url: str | None = None,
    bank_dir: Path | None = None,
    generated: datetime | None = None,
    lang: str = "en",
    similarity: bool = True,
    archive: Path | None = None,
) -> Path:
    """Collect, draw and write the report of ``assignments`` (default: every assignment in the
    gradebook) to ``output`` in ``lang`` ("en" or "he"); the quizzes come from
    ``quiz_db_url`` when given. ``similarity`` adds the similar-work section of each
    assignment (``archive``: earlier years' submissions to compare with)."""
    words = labels(lang)
    chosen = list(assignments) if assignments else gradebook_assignments(course)
    data = [collect_assignment(course, a) for a in chosen]
    fractions: dict[str, float] = {}
    for item in data:
        fractions.update(item.notebook_fractions())
    quizzes = QuizData(note="no_quiz_given")
    if quiz_db_url:
        quizzes = collect_quizzes(quiz_db_url, fractions, bank_dir)
        if assignments and quizzes.concepts:  # an assignment keeps its notebooks' concepts
            own = {nb for item in data for nb in item.notebooks}
            kept = tuple(c for c in quizzes.concepts if own & set(c.notebooks))
            quizzes = QuizData(kept, "" if kept else "no_concepts_here", quizzes.where)
    output.parent.mkdir(parents=True, exist_ok=True)
    title = f"{course.course_id}: " + (", ".join(chosen) if assignments else words["whole_course"])
    page = render(
        course.course_id,
        title,
        [
            section(
                item,
                output.parent,
                *(similarity_of(course, item.name, archive) if similarity else (None, "")),
            )
            for item in data
        ],
        quizzes,
        generated or datetime.now(UTC),
        overview=not assignments,
        lang=lang,
    )
    temporary = output.with_name(f".{output.name}.partial")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(output)
    return output
