"""The report's figures, drawn with matplotlib and returned as inline SVG text.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot, so no global
figure registry and no GUI backend); text stays text in the SVG (``svg.fonttype: none``), so
the browser draws it with its own fonts (Hebrew included) and it can be searched and copied.
The output is deterministic: fixed ids (``svg.hashsalt``) and no date in the metadata.
Each function returns "" when there is nothing to draw.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from grader.report.collect import ConceptRow, TestRow

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

WIDTH = 7.0  # inches; the page scales the SVG to its column
BLUE, ORANGE, GREEN, GREY = "#3b6ea5", "#e08a2c", "#4a9a5b", "#8a8a8a"
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "grader-report",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def to_svg(figure: Figure) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), ready to inline in HTML."""
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(WIDTH, height), layout="constrained")


def score_distribution(fractions: Sequence[float], bins: int = 10) -> str:
    """Histogram of the class's scores, in percent of the maximum."""
    if not fractions:
        return ""
    with matplotlib.rc_context(STYLE):
        figure = _figure(2.6)
        axes = figure.add_subplot()
        edges = [100 * i / bins for i in range(bins + 1)]
        axes.hist([100 * f for f in fractions], bins=edges, color=BLUE, edgecolor="white")
        axes.set_xlim(0, 100)
        axes.set_xlabel("score (% of the maximum)")
        axes.set_ylabel("students")
        locator = axes.yaxis.get_major_locator()
        assert isinstance(locator, MaxNLocator)  # the default AutoLocator is one
        locator.set_params(integer=True)
        return to_svg(figure)


def pass_rates(tests: Sequence[TestRow]) -> str:
    """One bar per test: the share of gradable submissions that passed it, with points lost."""
    rows = [t for t in tests if t.pass_rate is not None]
    if not rows:
        return ""
    with matplotlib.rc_context(STYLE):
        figure = _figure(0.6 + 0.28 * len(rows))
        axes = figure.add_subplot()
        positions = range(len(rows))
        rates = [100 * (t.pass_rate or 0.0) for t in rows]
        axes.barh(positions, rates, color=[GREEN if r >= 50 else ORANGE for r in rates])
        axes.set_yticks(list(positions), [t.name for t in rows])
        axes.invert_yaxis()
        axes.set_xlim(0, 115)
        axes.set_xticks([0, 25, 50, 75, 100])
        axes.set_xlabel("passed (% of graded submissions); label: points lost in the class")
        for y, (rate, test) in enumerate(zip(rates, rows, strict=True)):
            axes.text(rate + 1, y, f"{test.points_lost:g}", va="center", fontsize=8, color=GREY)
        return to_svg(figure)


def grading_times(times: Mapping[str, Sequence[float]]) -> str:
    """Seconds each notebook took to grade: one box (and its points) per notebook."""
    named = [(name, list(values)) for name, values in times.items() if values]
    if not named:
        return ""
    with matplotlib.rc_context(STYLE):
        figure = _figure(0.8 + 0.45 * len(named))
        axes = figure.add_subplot()
        data = [values for _, values in named]
        axes.boxplot(data, orientation="horizontal", widths=0.5, showfliers=False)
        for y, values in enumerate(data, start=1):
            axes.plot(values, [y] * len(values), "o", color=BLUE, alpha=0.6, markersize=4)
        axes.set_yticks(range(1, len(named) + 1), [name for name, _ in named])
        axes.invert_yaxis()
        axes.set_xlabel("seconds per notebook (sandboxed kernel, start to end)")
        axes.set_xlim(left=0)
        return to_svg(figure)


def concept_gains(concepts: Sequence[ConceptRow]) -> str:
    """Per concept: the class's pre and post quiz results beside its notebook results."""
    if not concepts:
        return ""
    with matplotlib.rc_context(STYLE):
        figure = _figure(0.8 + 0.42 * len(concepts))
        axes = figure.add_subplot()
        height = 0.27
        series = (
            ("quiz before", [c.pre for c in concepts], GREY),
            ("quiz after", [c.post for c in concepts], BLUE),
            ("notebooks", [c.notebook_fraction for c in concepts], GREEN),
        )
        for offset, (label, values, colour) in zip((-1, 0, 1), series, strict=True):
            positions = [i + offset * height for i in range(len(concepts))]
            axes.barh(
                positions,
                [100 * (v or 0.0) for v in values],
                height=height,
                color=colour,
                label=label,
            )
        axes.set_yticks(range(len(concepts)), [c.concept for c in concepts])
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("class mean (% of the points on the concept)")
        axes.legend(
            loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize=8, frameon=False
        )
        return to_svg(figure)
