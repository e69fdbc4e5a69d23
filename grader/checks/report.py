"""How a check reports: a readable failure for the student and evidence for the engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.evidence import MIME_TYPE, Evidence, to_payload


class CheckFailed(AssertionError):
    """A check that did not pass; the message says what was expected and what came out.

    Messages never contain hidden inputs or reference values.
    """


def emit(
    check: str,
    kind: str,
    values: Mapping[str, Any],
    *,
    expect: Mapping[str, Any] | None = None,
) -> None:
    """Display one piece of evidence as an output of the running cell.

    Evidence carries raw values only, never what the kernel concluded from them: the engine
    decides. ``expect`` (tolerances, thresholds) is read by the engine from the reference run.

    Outside IPython (plain Python, a script) there is no cell to attach it to: nothing happens.
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with every kernel
        return
    if get_ipython() is None:
        return
    evidence = Evidence(check=check, kind=kind, values=values, expect=expect or {})
    display(
        {MIME_TYPE: to_payload(evidence), "text/plain": f"[evidence] {check}: recorded"},
        raw=True,
    )


def require(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)
