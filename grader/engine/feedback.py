"""Per-student HTML feedback in which no hidden test source appears.

From the autograded notebook and its ``results.json``: every test cell shows only its public
part (hidden regions between nbgrader's ``BEGIN HIDDEN TESTS``/``END HIDDEN TESTS`` markers are
cut) and, instead of its outputs (which could echo hidden inputs), the verdict and, when it
failed, its message. The other cells' outputs are withheld once a test with a hidden part has
run (student code could read the test's source then, and print it in any encoding); before,
lines of hidden tests are masked in every output. Student HTML and script outputs are dropped
and student markdown is escaped; a summary table heads the page.
Written to ``feedback/<student>/<assignment>/<notebook>.html`` (nbgrader's layout).
"""

from __future__ import annotations

import copy
import html
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from grader.course import Course
from grader.engine.results import iter_results
from grader.engine.submission import split_hidden
from grader.evidence import MIME_TYPE

MASK = "[hidden]"
#: nbgrader's bookkeeping of a submission, which ``release_feedback`` needs beside the pages
#: (the secret names the released page so that only the submitting student can fetch it).
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")
#: Output types that could run script in the page; student outputs keep their plain forms.
ACTIVE_TYPES = (
    "text/html",
    "application/javascript",
    "text/markdown",
    "image/svg+xml",
    "application/vnd.jupyter.widget-view+json",
)


#: The page's own words, by the notebook's language (``metadata.grader.language``).
WORDS = {
    "en": {
        "score": "Score",
        "test": "test",
        "result": "result",
        "points": "points",
        "message": "message",
        "passed": "passed",
        "failed": "failed",
        "PASSED": "PASSED",
        "FAILED": "FAILED",
        "hidden": "(hidden tests)",
        "held": "after the due date",
        "held note": "Before the due date this page shows the public tests' results and the "
        "score; the results and messages of tests with hidden parts follow after the due date.",
        "not gradable": "This submission could not be graded automatically; "
        "the instructor will look at it.",
        "withheld": "(This cell's output is not shown here: it ran after a test with a hidden "
        "part, and could repeat it. Your notebook has it.)",
    },
    "he": {
        "score": "ציון",
        "test": "בדיקה",
        "result": "תוצאה",
        "points": "נקודות",
        "message": "הודעה",
        "passed": "עברה",
        "failed": "נכשלה",
        "PASSED": "עברה",
        "FAILED": "נכשלה",
        "hidden": "(בדיקות נסתרות)",
        "held": "אחרי מועד ההגשה",
        "held note": "עד מועד ההגשה מוצגות כאן תוצאות הבדיקות הגלויות והציון; תוצאות הבדיקות "
        "שיש בהן חלק נסתר, והודעותיהן, יוצגו אחרי מועד ההגשה.",
        "not gradable": "לא ניתן היה לבדוק את ההגשה הזו אוטומטית; המרצה יעבור עליה.",
        "withheld": "(הפלט של התא הזה אינו מוצג כאן: התא רץ אחרי בדיקה שיש בה חלק נסתר, והפלט "
        "עלול לחשוף אותה. הפלט נמצא במחברת שלכם.)",
    },
}
#: Code and outputs stay left to right on a right-to-left page.
RTL_STYLE = (
    "<style>pre, code, .input_area, .output_area, table {direction: ltr; text-align: left;}</style>"
)


def notebook_language(*notebooks: nbformat.NotebookNode) -> str:
    """The first language named by ``metadata.grader.language`` of ``notebooks`` (the course's
    source notebook first: it is the instructor's), or English."""
    for nb in notebooks:
        language = nb.get("metadata", {}).get("grader", {}).get("language")
        if language in WORDS:
            return str(language)
    return "en"


def _mask(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _scrub_outputs(outputs: list, secrets: Sequence[str]) -> list:
    kept = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            output["text"] = _mask(output.get("text", ""), secrets)
        elif kind == "error":
            output["traceback"] = [_mask(line, secrets) for line in output.get("traceback", [])]
            output["evalue"] = _mask(output.get("evalue", ""), secrets)
        elif kind in ("display_data", "execute_result"):
            data = output.get("data", {})
            for unsafe in (MIME_TYPE, *ACTIVE_TYPES):
                data.pop(unsafe, None)
            for key in list(data):
                if isinstance(data[key], str):
                    data[key] = _mask(data[key], secrets)
            if not data:
                continue
        kept.append(output)
    return kept


def _summary_cell(
    document: dict,
    language: str = "en",
    held: frozenset[str] = frozenset(),
    notices: Sequence[str] = (),
) -> nbformat.NotebookNode:
    words = WORDS[language]
    rows = []
    for test in document.get("tests", []):
        if test["name"] in held:
            rows.append(
                f"<tr><td>{html.escape(test['name'])}</td><td>{words['held']}</td>"
                f"<td>? / {test['max_score']:g}</td><td></td></tr>"
            )
            continue
        status = words["passed"] if test["status"] == "passed" else words["failed"]
        message = html.escape(test.get("output") or "")
        rows.append(
            f"<tr><td>{html.escape(test['name'])}</td><td>{status}</td>"
            f"<td>{test['score']:g} / {test['max_score']:g}</td><td><pre>{message}</pre></td></tr>"
        )
    reasons = [*notices, *document.get("reasons", [])]
    if held:
        reasons.append(words["held note"])
    notes = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
    gradable = (
        "" if document.get("gradable", True) else f"<p><strong>{words['not gradable']}</strong></p>"
    )
    text = (
        f"<h2>{words['score']}: {document.get('score', 0):g} / "
        f"{document.get('max_score', 0):g}</h2>{gradable}<ul>{notes}</ul>"
        f"<table><tr><th>{words['test']}</th><th>{words['result']}</th>"
        f"<th>{words['points']}</th><th>{words['message']}</th></tr>" + "".join(rows) + "</table>"
    )
    if language == "he":
        text = f'<div dir="rtl" lang="he">{text}</div>'
    return nbformat.v4.new_markdown_cell(text)


def feedback_notebook(
    nb: nbformat.NotebookNode,
    document: dict,
    notebook_name: str,
    language: str = "en",
    public_only: bool = False,
    notices: Sequence[str] = (),
) -> nbformat.NotebookNode:
    """A copy of an autograded notebook fit to show the student, its own words in
    ``language``. With ``public_only`` (feedback before the due date, by the classroom's
    policy), a test with a hidden part shows neither its result nor its message, only that
    they follow after the due date; the total score is shown. ``notices`` head the summary
    (late, a later submission, ...)."""
    words = WORDS[language]
    nb = copy.deepcopy(nb)
    secrets: list[str] = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            _, hidden = split_hidden(cell.source)
            secrets += [line.strip() for line in hidden if len(line.strip()) >= 6]
    secrets.sort(key=len, reverse=True)
    tests = {t["name"]: t for t in document.get("tests", [])}
    held: set[str] = set()
    after_hidden = False  # a hidden test has run: later cells' code could have read it
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and not meta.get("locked"):
            cell.source = html.escape(cell.source, quote=False)  # the student's own text
            continue
        if cell.cell_type != "code":
            continue
        if meta.get("grade") and not meta.get("solution"):
            public, hidden = split_hidden(cell.source)
            cell.source = public + (f"\n# {words['hidden']}" if hidden else "")
            after_hidden = after_hidden or bool(hidden)
            test = tests.get(f"{notebook_name}/{meta.get('grade_id')}")
            if test is None:
                cell.outputs = []
                continue
            if public_only and hidden:
                held.add(test["name"])
                text = f"{words['held']}: ? / {test['max_score']:g}\n"
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
                continue
            status = words["PASSED"] if test["status"] == "passed" else words["FAILED"]
            text = f"{status}: {test['score']:g} / {test['max_score']:g}\n"
            if test["status"] != "passed" and test.get("output"):
                text += _mask(test["output"], secrets) + "\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        elif after_hidden and cell.get("outputs"):
            # the hidden test's source is within the kernel's reach once it has run (IPython
            # keeps every cell's source for tracebacks): printed in any encoding, masking
            # would not find it
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=words["withheld"])]
        else:
            cell.outputs = _scrub_outputs(cell.get("outputs", []), secrets)
    summary = _summary_cell(
        {
            **document,
            "tests": [
                t for t in document.get("tests", []) if t["name"].startswith(f"{notebook_name}/")
            ],
        },
        language,
        frozenset(held),
        notices,
    )
    nb.cells.insert(0, summary)
    return nb


def render_html(nb: nbformat.NotebookNode, language: str = "en") -> str:
    """The notebook as standalone HTML (cells were made safe by :func:`feedback_notebook`);
    a Hebrew page is right to left, its code and outputs left to right."""
    exporter = HTMLExporter(template_name="classic")
    body, _ = exporter.from_notebook_node(nb)
    if language == "he":
        body = re.sub(r"<html[^>]*>", '<html lang="he" dir="rtl">', body, count=1)
        body = body.replace("</head>", RTL_STYLE + "</head>", 1)
    return body


def write_feedback(
    course: Course,
    assignment: str,
    students: Sequence[str] | None = None,
    public_only: bool = False,
    notices: Sequence[str] = (),
) -> list[Path]:
    """Write feedback HTML for every autograded submission (or ``students``); returns paths.
    ``public_only`` and ``notices``: see :func:`feedback_notebook`."""
    written = []
    for student, document in iter_results(course, assignment):
        if students and student not in students:
            continue
        source = course.autograded_dir(student, assignment)
        target = course.feedback_dir(student, assignment)
        target.mkdir(parents=True, exist_ok=True)
        for name in NBGRADER_FILES:  # nbgrader's release_feedback reads both
            if (source / name).is_file():
                shutil.copy2(source / name, target / name)
        for summary in document.get("notebooks", []):
            name = summary["name"]
            path = source / f"{name}.ipynb"
            exists = path.is_file()
            nb = nbformat.read(path, as_version=4) if exists else nbformat.v4.new_notebook()
            source = course.source_dir(assignment) / f"{name}.ipynb"
            trusted = nbformat.read(source, as_version=4) if source.is_file() else None
            language = notebook_language(*([trusted] if trusted else []), nb)
            shown = feedback_notebook(nb, document, name, language, public_only, notices)
            page = render_html(shown, language)
            output = target / f"{name}.html"
            output.write_text(page, encoding="utf-8")
            written.append(output)
    return written
