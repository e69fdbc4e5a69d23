"""Overfitting checks: best epoch, early stopping, and a regularizer that narrows the gap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from grader.checks._arrays import to_numpy
from grader.checks.messages import say
from grader.checks.report import emit, require
from grader.measures import generalization_gap


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


def check_gap_narrowed(
    check: str,
    plain: tuple[Sequence[float], Sequence[float]],
    regularized: tuple[Sequence[float], Sequence[float]],
    *,
    max_ratio: float = 0.8,
    min_ratio: float = -0.05,
) -> None:
    """Check that regularization narrows the generalization gap to at most ``max_ratio`` of it,
    without turning it below ``min_ratio`` of it (a validation loss far below the training loss
    means the two lists were returned in the wrong order).

    ``plain`` and ``regularized`` are ``(train_losses, val_losses)`` of two runs that differ
    only by the regularizer. The four loss curves are the evidence: the engine computes the
    gaps itself and judges them with the reference's ratios.
    """
    curves = {
        "plain_train": to_numpy(plain[0], "the training losses"),
        "plain_val": to_numpy(plain[1], "the validation losses"),
        "regularized_train": to_numpy(regularized[0], "the training losses"),
        "regularized_val": to_numpy(regularized[1], "the validation losses"),
    }
    emit(check, "overfitting", curves, expect={"max_ratio": max_ratio, "min_ratio": min_ratio})
    gap_plain, gap_regularized = generalization_gap(*plain), generalization_gap(*regularized)
    require(gap_plain > 0, say("no-gap", check=check))
    require(gap_regularized >= min_ratio * gap_plain, say("gap-order", check=check))
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
