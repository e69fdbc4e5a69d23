"""What the instructor sees while a class is graded, and the table at the end.

On a terminal, one status line redrawn in place ("12/200 graded | 1m05s elapsed | ~9m left |
2 need attention"); elsewhere (CI, a log file) one plain line per submission as it finishes.
At the end, a table with one row per student (score, maximum, not gradable, flagged, errors)
and the totals. Each student is reported once.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


@dataclass
class Row:
    """One student's line of the final table."""

    student: str
    score: float | None = None
    max_score: float | None = None
    state: str = "graded"  # graded, skipped, not gradable, error
    notes: list[str] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        """Not gradable, flagged for review, or an error while grading."""
        return self.state in ("not gradable", "error") or any(
            n.startswith("flagged") for n in self.notes
        )


@dataclass
class Progress:
    """Counts and prints progress; :meth:`summary` gives the final table."""

    total: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    live: bool | None = None  # None: redraw in place when ``stream`` is a terminal
    rows: dict[str, Row] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.live is None:
            self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    @property
    def done(self) -> int:
        """Submissions accounted for so far."""
        return len(self.rows)

    def record(self, row: Row) -> None:
        """Account for one student (once) and show it."""
        if row.student in self.rows:
            return
        self.rows[row.student] = row
        if self.live:
            self.stream.write("\r\033[K" + self.status_line())
        else:
            self.stream.write(f"[{self.done}/{self.total}] {self._describe(row)}\n")
        self.stream.flush()

    def status_line(self) -> str:
        """ "k/N graded | elapsed | remaining estimate | needing attention"."""
        elapsed = time.monotonic() - self.started
        parts = [f"{self.done}/{self.total} graded", f"{_clock(elapsed)} elapsed"]
        if 0 < self.done < self.total:
            parts.append(f"~{_clock(elapsed / self.done * (self.total - self.done))} left")
        attention = sum(1 for r in self.rows.values() if r.needs_attention)
        if attention:
            parts.append(f"{attention} need attention")
        return " | ".join(parts)

    @staticmethod
    def _describe(row: Row) -> str:
        score = ""
        if row.score is not None and row.max_score is not None:
            score = f" {row.score:g}/{row.max_score:g}"
        notes = f" ({'; '.join(row.notes)})" if row.notes else ""
        state = "" if row.state == "graded" else f" {row.state.upper()}"
        return f"{row.student}:{score}{state}{notes}"

    def close(self) -> None:
        """End the live line, if any."""
        if self.live and self.rows:
            self.stream.write("\n")
            self.stream.flush()

    def summary(self) -> str:
        """The final table: one row per student, then the totals."""
        width = max([len("student"), *(len(s) for s in self.rows)])
        lines = [f"{'student':<{width}}  {'score':>7} {'max':>6}  state"]
        for student in sorted(self.rows):
            row = self.rows[student]
            score = f"{row.score:>7g}" if row.score is not None else f"{'-':>7}"
            top = f"{row.max_score:>6g}" if row.max_score is not None else f"{'-':>6}"
            notes = f": {'; '.join(row.notes)}" if row.notes else ""
            lines.append(f"{student:<{width}}  {score} {top}  {row.state}{notes}")
        counts = {
            state: sum(1 for r in self.rows.values() if r.state == state)
            for state in ("graded", "skipped", "not gradable", "error")
        }
        flagged = sum(
            1 for r in self.rows.values() if any(n.startswith("flagged") for n in r.notes)
        )
        lines.append(
            f"{self.done}/{self.total} submissions in {_clock(time.monotonic() - self.started)}: "
            f"{counts['graded']} graded, {counts['skipped']} already graded, "
            f"{counts['not gradable']} not gradable, {flagged} flagged, {counts['error']} errors"
        )
        return "\n".join(lines)

    @property
    def needs_attention(self) -> bool:
        """Whether any submission is not gradable, flagged, or failed to grade."""
        return any(r.needs_attention for r in self.rows.values())
