"""Bounded cell outputs: what a cell prints is kept up to a budget, the rest is dropped at once.

A print bomb (a cell that prints for two minutes) must cost its own test nothing more and
everyone else nothing: without a bound its output would grow in the grader's memory while the
cell runs, then in ``autograded/`` and in the feedback. :class:`OutputBudget` is applied to each
output message as it arrives (see :class:`grader.engine.kernel.BoundedClient`), so nothing beyond
the budget is ever held. The defaults follow nbgrader's ``LimitOutput`` preprocessor (1000 lines
of text, 100 lines of traceback), with a byte bound besides, because one line can be huge; errors
count against it too, for a cell can show any number of them.

Evidence (the project's own MIME type) has a budget of its own: it is what is judged, and it is
bounded by :data:`grader.evidence.MAX_ELEMENTS` per item anyway.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_output

from grader.engine import words
from grader.evidence import MIME_TYPE


@dataclass(frozen=True)
class OutputLimits:
    """How much output one cell may keep (configurable from ``grader autograde``)."""

    max_lines: int = 1000  # lines of text (streams and plain-text results) per cell
    max_bytes: int = 1_000_000  # bytes of text and rich output per cell
    max_traceback: int = 100  # lines of an error's traceback
    max_evidence_bytes: int = 64_000_000  # bytes of evidence per cell


def _size(data: Any) -> int:
    return len(json.dumps(data, separators=(",", ":"), default=str).encode("utf-8"))


@dataclass
class OutputBudget:
    """What is left of one cell's budget; :meth:`admit` trims or drops each new output."""

    limits: OutputLimits
    language: str = "en"  # of the notes that say what was cut (the notebook's)
    lines: int = 0
    size: int = 0
    evidence: int = 0
    dropped: list[str] = field(default_factory=list)  # why outputs were cut, once per reason

    def _note(self, reason: str, outputs: list[NotebookNode]) -> None:
        if reason in self.dropped:
            return
        self.dropped.append(reason)
        note = words.say(self.language, "output-truncated", reason=reason)
        outputs.append(new_output("stream", name="stdout", text=f"\n{note}\n"))

    def _text(self, text: str) -> tuple[str, str | None]:
        """The part of ``text`` that fits, and the reason when some did not."""
        lines_left = self.limits.max_lines - self.lines
        bytes_left = self.limits.max_bytes - self.size
        kept = text
        reason = None
        if kept.count("\n") > lines_left:
            kept = "".join(kept.splitlines(keepends=True)[: max(lines_left, 0)])
            reason = words.say(self.language, "more-lines", count=self.limits.max_lines)
        encoded = kept.encode("utf-8")
        if len(encoded) > bytes_left:
            kept = encoded[: max(bytes_left, 0)].decode("utf-8", "ignore")
            reason = words.say(self.language, "more-bytes", count=self.limits.max_bytes)
        self.lines += kept.count("\n")
        self.size += len(kept.encode("utf-8"))
        return kept, reason

    def admit(self, output: NotebookNode, outputs: list[NotebookNode]) -> None:
        """Append ``output`` to ``outputs`` as far as the budget allows (in place)."""
        kind = output.get("output_type")
        if kind == "stream":
            kept, reason = self._text(output.get("text", ""))
            if kept:
                output["text"] = kept
                outputs.append(output)
            if reason:
                self._note(reason, outputs)
            return
        if kind == "error":  # one ends the cell; showtraceback() can send any number more
            traceback = list(output.get("traceback", []))
            if len(traceback) > self.limits.max_traceback:
                half = self.limits.max_traceback // 2
                cut = len(traceback) - 2 * half
                output["traceback"] = [
                    *traceback[:half],
                    words.say(self.language, "traceback-cut", count=cut),
                    *traceback[-half:],
                ]
            size = _size([output.get(key) for key in ("ename", "evalue", "traceback")])
            if self.size + size > self.limits.max_bytes:
                self._note(
                    words.say(self.language, "more-bytes", count=self.limits.max_bytes), outputs
                )
                return
            self.size += size
            outputs.append(output)
            return
        data = dict(output.get("data", {}))
        if MIME_TYPE in data:
            size = _size(data[MIME_TYPE])
            if self.evidence + size > self.limits.max_evidence_bytes:
                limit = self.limits.max_evidence_bytes
                self._note(words.say(self.language, "more-evidence", count=limit), outputs)
                return
            self.evidence += size
            outputs.append(output)
            return
        size = _size(data)
        if self.size + size <= self.limits.max_bytes:
            self.size += size
            outputs.append(output)
            return
        plain = data.get("text/plain")
        text = "".join(plain) if isinstance(plain, list) else plain
        if isinstance(text, str):  # keep what fits of the plain-text form
            kept, _ = self._text(text)
            if kept:
                output["data"] = {"text/plain": kept}
                outputs.append(output)
        self._note(words.say(self.language, "more-bytes", count=self.limits.max_bytes), outputs)
