"""Overfitting checks: best epoch, early stopping, and a regularizer that narrows the gap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from grader.checks.messages import say
from grader.checks.report import emit, require


def best_epoch(val_losses: Sequence[float]) -> int:
    """The (0-based) epoch with the lowest validation loss; the first one on ties."""
    return int(np.argmin(np.asarray(val_losses, dtype=np.float64)))


def early_stopping_epoch(val_losses: Sequence[float], patience: int) -> int:
    """The (0-based) epoch after which early stopping with ``patience`` ends training.

    Training stops once ``patience`` epochs in a row brought no new lowest validation loss,
    or at the last epoch if that never happens.
    """
    best, waited = float("inf"), 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, waited = loss, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch
    return len(val_losses) - 1


def check_answers(
    check: str,
    student: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[tuple[Any, ...]],
) -> None:
    """Check ``student(*case) == reference(*case)`` for each case (integers, e.g. epochs)."""
    answers = []
    try:
        for number, case in enumerate(cases, start=1):
            got = student(*case)
            answers.append(int(got) if isinstance(got, int | np.integer) else -1)
            want = reference(*case)
            require(
                isinstance(got, int | np.integer),
                say("epoch-not-int", check=check, kind=type(got).__name__),
            )
            require(got == want, say("wrong-on-curve", check=check, number=number, got=got))
    finally:
        emit(check, "values", {"answers": np.asarray(answers, dtype=np.int64)})


def generalization_gap(train_losses: Sequence[float], val_losses: Sequence[float]) -> float:
    """Validation loss minus training loss, averaged over the last quarter of training."""
    train, val = np.asarray(train_losses, float), np.asarray(val_losses, float)
    tail = max(1, len(val) // 4)
    return float(np.mean(val[-tail:]) - np.mean(train[-tail:]))


def check_gap_narrowed(
    check: str,
    plain: tuple[Sequence[float], Sequence[float]],
    regularized: tuple[Sequence[float], Sequence[float]],
    *,
    max_ratio: float = 0.8,
) -> None:
    """Check that regularization narrows the generalization gap to at most ``max_ratio`` of it.

    ``plain`` and ``regularized`` are ``(train_losses, val_losses)`` of two runs that differ
    only by the regularizer.
    """
    gap_plain, gap_regularized = generalization_gap(*plain), generalization_gap(*regularized)
    passed = gap_plain > 0 and gap_regularized <= max_ratio * gap_plain
    emit(
        check,
        "overfitting",
        {"gap_plain": gap_plain, "gap_regularized": gap_regularized},
        expect={"max_ratio": max_ratio},
        passed=passed,
    )
    require(gap_plain > 0, say("no-gap", check=check))
    require(
        gap_regularized <= max_ratio * gap_plain,
        say(
            "gap-not-narrowed",
            check=check,
            plain=gap_plain,
            regularized=gap_regularized,
            ratio=max_ratio,
        ),
    )
