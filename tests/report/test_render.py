"""The HTML report: figures inline, tables, links that resolve, nothing loaded from outside."""

from __future__ import annotations

import html
import re
import urllib.parse
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.cli import main
from grader.demo.class_sim import simulate_quizzes
from grader.quiz.bank import load_bank
from grader.report.labels import duration, labels
from grader.report.render import write_report
from tests.support import ROOT
from tests.support.report import UNREADABLE

WHEN = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)


class Page(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)


def parse(path: Path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return text, page


@pytest.fixture(scope="module")
def quiz_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A quiz database with the simulated class's pre and post attempts."""
    url = f"sqlite:///{tmp_path_factory.mktemp('quiz') / 'quiz.db'}"
    simulate_quizzes(url, load_bank(ROOT / "quizzes"))
    return url


def test_assignment_report_has_figures_tables_and_reasons(graded, tmp_path: Path):
    out = write_report(graded, tmp_path / "reports" / "demo.html", ["demo"], generated=WHEN)
    text, page = parse(out)
    assert page.count("svg") == 3  # distribution, tests, grading times
    assert {"students-demo", "attention-demo", "tests-demo", "times-demo"} <= page.ids()
    assert {"plot-distribution-demo", "plot-tests-demo", "plot-times-demo"} <= page.ids()
    assert UNREADABLE in html.unescape(text) and "input transformer installed" in text
    assert "late by <bdi>27 h</bdi></span>" in text
    assert "No quiz database was given" in text
    assert "demo (1).ipynb" in text  # the renamed notebook is named
    assert "double: values differ at 7 of 7 points" in text and "(2×)" in text
    assert "בן" not in text  # names are not shown, ids are; Hebrew ids would pass through
    # the mean counts graded work only: ada 7, ben 4, dan 5, fay 0 of 7 (not cat's 0)
    assert "mean <b>57%</b>" in text and "median <b>64%</b>" in text


def test_links_open_the_executed_notebooks(graded, tmp_path: Path):
    out = write_report(graded, tmp_path / "deep" / "er" / "demo.html", ["demo"], generated=WHEN)
    _, page = parse(out)
    links = [a["href"] for t, a in page.tags if t == "a" and a.get("href")]
    # executed: ada, ben, dan in the students table; ben, dan in "needs attention"; as handed
    # in: cat's unreadable notebook and fay's renamed one
    assert len(links) == 7
    targets = [(out.parent / urllib.parse.unquote(link)).resolve() for link in links]
    assert all(t.is_file() for t in targets)
    assert sorted(t.relative_to(graded.root).as_posix() for t in targets) == [
        *[f"autograded/{s}/demo/demo.ipynb" for s in ("ada", "ben", "ben", "dan", "dan")],
        "submitted/cat/demo/demo.ipynb",
        "submitted/fay/demo/demo (1).ipynb",
    ]


def test_nothing_is_loaded_from_outside(graded, tmp_path: Path):
    out = write_report(graded, tmp_path / "demo.html", ["demo"], generated=WHEN)
    text, page = parse(out)
    assert page.count("script") == 0 and page.count("link") == 0 and page.count("img") == 0
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert "@import" not in text
    assert re.findall(r"url\(([^)]*)\)", text) and all(
        ref.startswith("#") for ref in re.findall(r"url\(([^)]*)\)", text)
    )  # only the figures' own clip paths


def test_same_input_same_page(graded, tmp_path: Path):
    first = write_report(graded, tmp_path / "a.html", ["demo"], generated=WHEN).read_text()
    second = write_report(graded, tmp_path / "b.html", ["demo"], generated=WHEN).read_text()
    assert first == second


def test_course_report_puts_quiz_gain_beside_notebooks(graded, quiz_db, tmp_path: Path):
    out = write_report(graded, tmp_path / "course.html", quiz_db_url=quiz_db, generated=WHEN)
    text, page = parse(out)
    assert {"course-table", "concepts-table", "plot-concepts"} <= page.ids()
    assert page.count("svg") == 4
    rows = re.findall(r"<tr><td>([a-z-]+)</td><td>([A-Za-z, ]*)</td>", text)
    concepts = dict(rows)
    assert concepts["gradient"] == "IntroPyTorch" and concepts["overfitting-detection"]
    assert "normalized gain" in text


def test_report_command_writes_and_fails_in_one_line(graded_root: Path, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert (
        main(["report", "demo", "--root", str(graded_root), "--output", str(out), "--no-quizzes"])
        == 0
    )
    assert out.is_file() and capsys.readouterr().out.strip() == str(out)
    assert (
        main(["report", "nope", "--root", str(graded_root), "--output", str(out), "--no-quizzes"])
        == 2
    )
    error = capsys.readouterr().err.strip()
    assert error.startswith("grader report: assignment 'nope'") and "\n" not in error


def test_hebrew_report_reads_right_to_left(graded, tmp_path: Path):
    out = write_report(graded, tmp_path / "he.html", ["demo"], generated=WHEN, lang="he")
    text, page = parse(out)
    assert '<html lang="he" dir="rtl">' in text
    assert "<h1>דוח כיתה</h1>" in text and "באיחור של <bdi>27 שעות</bdi>" in text
    assert "לא צוין מסד נתונים של השאלונים" in text
    assert "לא ניתן לבדיקה" in text and "Needs attention" not in text
    assert page.count("svg") == 3  # the figures keep their English labels, left to right
    with pytest.raises(ValueError, match="choose one of en, he"):
        write_report(graded, tmp_path / "x.html", ["demo"], lang="fr")


@pytest.mark.parametrize(
    ("seconds", "english", "hebrew"),
    [
        (30, "< 1 min", "פחות מדקה"),
        (60, "1 min", "דקה אחת"),
        (3600, "1 h", "שעה אחת"),
        (3660, "1 h 1 min", "שעה אחת ודקה אחת"),
        (27 * 3600 + 300, "27 h 5 min", "27 שעות ו-5 דקות"),
        (3600 + 120, "1 h 2 min", "שעה אחת ו-2 דקות"),
    ],
)
def test_durations_in_both_languages(seconds, english, hebrew):
    assert duration(seconds, labels("en")) == english
    assert duration(seconds, labels("he")) == hebrew
    assert duration(0, labels("he")) == ""


def test_both_languages_have_every_word():
    from grader.report.labels import LABELS

    assert set(LABELS["he"]) == set(LABELS["en"])
    assert all(LABELS["he"][k] != LABELS["en"][k] for k in LABELS["en"] if k not in ("and",))
