"""Per-cell output budgets and the progress report (no kernels)."""

from __future__ import annotations

import io

from nbformat.v4 import new_output

from grader.engine.outputs import OutputBudget, OutputLimits
from grader.engine.progress import Progress, Row
from grader.evidence import MIME_TYPE


def _admit(budget: OutputBudget, outputs: list, *items) -> list:
    for item in items:
        budget.admit(item, outputs)
    return outputs


def test_streams_stop_at_the_line_budget_with_one_note() -> None:
    budget = OutputBudget(OutputLimits(max_lines=5))
    chunks = [new_output("stream", name="stdout", text="x\n" * 3) for _ in range(4)]
    outputs = _admit(budget, [], *chunks)
    text = "".join(o["text"] for o in outputs)
    assert text.count("x\n") == 5
    assert text.count("output truncated: more than 5 lines") == 1


def test_one_huge_line_stops_at_the_byte_budget() -> None:
    budget = OutputBudget(OutputLimits(max_bytes=100))
    outputs = _admit(budget, [], new_output("stream", name="stdout", text="y" * 10_000))
    assert len(outputs[0]["text"]) == 100
    assert "more than 100 bytes" in outputs[-1]["text"]


def test_evidence_after_a_print_bomb_is_kept() -> None:
    budget = OutputBudget(OutputLimits(max_lines=2))
    bomb = new_output("stream", name="stdout", text="spam\n" * 1000)
    evidence = new_output("display_data", data={MIME_TYPE: {"format": 1, "check": "c"}})
    outputs = _admit(budget, [], bomb, evidence)
    assert outputs[-1] is evidence


def test_rich_output_over_budget_keeps_what_fits_as_text() -> None:
    budget = OutputBudget(OutputLimits(max_bytes=1000))
    image = new_output("display_data", data={"image/png": "A" * 5000, "text/plain": "<Figure>"})
    outputs = _admit(budget, [], image)
    assert outputs[0]["data"] == {"text/plain": "<Figure>"}
    assert "more than 1000 bytes" in outputs[-1]["text"]


def test_long_tracebacks_keep_their_ends() -> None:
    budget = OutputBudget(OutputLimits(max_traceback=4))
    error = new_output("error", ename="E", evalue="v", traceback=[f"frame {i}" for i in range(100)])
    kept = _admit(budget, [], error)[0]["traceback"]
    assert kept[:2] == ["frame 0", "frame 1"] and kept[-2:] == ["frame 98", "frame 99"]
    assert len(kept) == 5


def test_errors_count_against_the_byte_budget() -> None:
    """A cell can show any number of errors (``showtraceback()`` in a loop) and an error of
    any size: each counts against the cell's bytes like printed text, the rest dropped with
    one note, so that a flood costs the grader no memory."""
    budget = OutputBudget(OutputLimits(max_bytes=10_000))
    frames = [f"frame {i}: " + "x" * 60 for i in range(50)]
    flood = [new_output("error", ename="E", evalue="v", traceback=frames) for _ in range(1000)]
    huge = new_output("error", ename="E", evalue="v" * 10**6, traceback=[])
    outputs = _admit(budget, [], *flood, huge)
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert 1 <= len(errors) <= 3
    assert sum(len(str(o)) for o in outputs) < 12_000
    notes = [o["text"] for o in outputs if o["output_type"] == "stream"]
    assert len(notes) == 1 and "more than 10000 bytes" in notes[0]


def test_progress_lines_and_table_report_each_student_once() -> None:
    stream = io.StringIO()
    progress = Progress(total=3, stream=stream, live=False)
    progress.record(Row("ada", 7, 7))
    progress.record(Row("ada", 0, 7))  # reported once
    progress.record(Row("bob", None, None, "error", ["ZeroDivisionError: x"]))
    assert stream.getvalue().splitlines() == [
        "[1/3] ada: 7/7",
        "[2/3] bob: ERROR (ZeroDivisionError: x)",
    ]
    assert progress.needs_attention
    assert "2/3 graded" in progress.status_line() and "~" in progress.status_line()
    table = progress.summary()
    assert "1 graded, 0 already graded, 0 not gradable, 0 flagged, 1 errors" in table


def test_live_progress_redraws_one_line() -> None:
    stream = io.StringIO()
    progress = Progress(total=2, stream=stream, live=True)
    progress.record(Row("ada", 1, 2))
    progress.record(Row("bob", 2, 2))
    progress.close()
    assert stream.getvalue().count("\r\033[K") == 2 and stream.getvalue().endswith("\n")
