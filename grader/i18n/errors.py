"""What can be wrong with a translation, said so that a translator can find it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem of one translated part: the notebook, the cell (grade id) and what is wrong."""

    notebook: str
    cell: str
    problem: str

    def __str__(self) -> str:
        return f"{self.notebook}: cell {self.cell!r}: {self.problem}"


class TranslationError(RuntimeError):
    """Translations that cannot be used; carries every problem found, not only the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:40]]
        if len(self.problems) > 40:
            lines.append(f"... and {len(self.problems) - 40} more")
        super().__init__(
            f"{len(self.problems)} translation problem(s), nothing was written:\n"
            + "\n".join(lines)
        )
