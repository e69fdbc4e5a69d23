"""Commands of grader.quiz (registered on the top-level ``grader`` parser)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add this room's commands to the top-level parser."""
