"""The LMS exports against the published rules of Canvas's and Moodle's gradebook imports
(``docs/exports.md`` lists them): header, row shape, numbers, encoding and quoting."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from grader.cli import main
from grader.report import ReportError
from grader.report.exports import (
    CANVAS_IDENTITY,
    ITEM_COLUMNS,
    MOODLE_IDENTITY,
    canvas_rows,
    course_grades,
    csv_text,
    export_course,
    format_number,
)

NUMBER = re.compile(r"^-?\d+(\.\d{1,2})?$")


def read(path: Path, bom: bool = False) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") is bom
    text = raw.decode("utf-8-sig" if bom else "utf-8")  # strict: fails on anything else
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")  # CRLF only
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.fixture
def exported(graded, tmp_path: Path) -> dict[str, Path]:
    return export_course(graded, tmp_path, canvas_ids={"demo": "4711"}, section="Lab A")


def test_format_number():
    assert [format_number(x) for x in (7, 7.0, 4.5, 1 / 3, 2 / 3, 0.001, -0.0, 1234.5)] == [
        "7", "7", "4.5", "0.33", "0.67", "0", "0", "1234.5",
    ]  # fmt: skip


def test_canvas_header_points_possible_and_rows(exported):
    rows = read(exported["canvas"])
    header, points, *students = rows
    assert header == [*CANVAS_IDENTITY, "demo (4711)"]
    assert tuple(header[:5]) == ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
    assert re.fullmatch(r".+ \(\d+\)", header[5])  # "Name (id)" matches the Canvas assignment
    assert points == ["Points Possible", "", "", "", "", "8"]
    assert all(len(r) == len(header) for r in rows)
    by_id = {r[2]: r for r in students}
    assert sorted(by_id) == ["ada", "ben", "cat", "dan", "eve", "fay"]
    assert by_id["ada"][:5] == ["Lovelace, Jr., Ada", "1001", "ada", "", "Lab A"]
    assert by_id["ben"][0] == "לוי, בן"  # Hebrew survives, "Last, First" as Canvas writes it
    assert by_id["fay"][0] == "fay"  # no name on the roster: the id
    scores = {s: r[5] for s, r in by_id.items()}
    assert scores == {"ada": "7", "ben": "4", "cat": "", "dan": "5", "eve": "0", "fay": "0"}
    assert all(NUMBER.match(v) for v in scores.values() if v)


def test_names_with_commas_and_quotes_are_quoted(exported):
    raw = exported["canvas"].read_bytes().decode("utf-8")
    assert '"Lovelace, Jr., Ada",1001,ada,,Lab A,7\r\n' in raw
    assert csv_text([['say "hi", then', "1"]]) == '"say ""hi"", then",1\r\n'


def test_canvas_without_ids_names_new_assignments(graded):
    rows = canvas_rows(course_grades(graded))
    assert rows[0][5] == "demo"  # Canvas creates an assignment for a column without an id


def test_moodle_identifier_columns_and_one_column_per_item(exported):
    header, *students = read(exported["moodle"])
    assert header == [*MOODLE_IDENTITY, "demo"]
    assert all(len(r) == len(header) for r in students)
    by_id = {r[0]: r for r in students}
    assert by_id["ada"] == ["ada", "ada@example.edu", "Ada", "Lovelace, Jr.", "7"]
    assert by_id["ben"][2:] == ["בן", "לוי", "4"]
    assert by_id["cat"][4] == ""  # not gradable: left for a person, no false zero
    assert len({r[0] for r in students}) == len(students)  # the identifier is unique


def test_item_analysis_has_one_row_per_test(exported):
    header, *rows = read(exported["tests"])
    assert header == list(ITEM_COLUMNS)
    assert len(rows) == 5 * 6  # five results.json documents (eve has none), six tests each
    status = {(r[0], r[3]): r[6] for r in rows}
    assert status["ada", "test_double"] == "passed"
    assert status["ben", "test_double"] == "failed"
    assert status["cat", "test_double"] == "not gradable"
    assert status["fay", "test_plain"] == "not submitted"
    ben = next(r for r in rows if r[0] == "ben" and r[3] == "test_double")
    assert ben == ["ben", "demo", "demo", "test_double", "0", "2", "failed"]


def test_byte_order_mark_on_request(graded, tmp_path: Path):
    written = export_course(graded, tmp_path, bom=True)
    for path in written.values():
        read(path, bom=True)


def test_bad_input_is_refused_with_a_clear_message(graded, graded_root, tmp_path, capsys):
    with pytest.raises(ReportError, match="unknown assignments: lab"):
        export_course(graded, tmp_path, canvas_ids={"lab": "1"})
    with pytest.raises(ReportError, match="'nope' is not in the gradebook"):
        export_course(graded, tmp_path, ["nope"])
    assert main(["export", "--root", str(graded_root), "--canvas-id", "demo=abc"]) == 2
    assert "--canvas-id wants ASSIGNMENT=NUMBER" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.csv"))


def test_export_command_prints_what_it_wrote(graded_root: Path, tmp_path: Path, capsys):
    assert main(["export", "--root", str(graded_root), "--output-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert [line.split(":")[0] for line in out] == ["canvas", "moodle", "tests"]
    # cat and fay have no email: mapping Moodle users by email would misplace their grades
    assert "2 student(s) have no email (cat, fay)" in captured.err
    assert "5 student(s) have no LMS id" in captured.err
    assert (tmp_path / "demo-canvas.csv").is_file()
