"""The grading service's memory: every submission it has seen and what became of it.

One SQLite file in the hub's state folder, written in a transaction per change, so that a
service killed at any moment and started again knows what is graded (nothing is graded twice)
and what is missing (a submission caught mid-grading is graded again; the engine's fingerprint
makes a grading that had already been recorded a no-op).

States: ``received`` -> ``grading`` -> ``graded`` (feedback written) -> ``released``; or
``deferred`` (over the hourly limit, waits), ``superseded`` (a later submission of the same
student was graded instead), ``failed`` (with the error; the instructor sees it in the log and
``grader hub-status``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    name TEXT PRIMARY KEY,
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    state TEXT NOT NULL,
    seen_at REAL NOT NULL,
    graded_at REAL,
    released_at REAL,
    score REAL,
    max_score REAL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS by_student ON submissions (student, assignment, state);
"""


@dataclass(frozen=True)
class Entry:
    """One row of the ledger."""

    name: str
    student: str
    assignment: str
    timestamp: str
    state: str
    seen_at: float
    graded_at: float | None
    released_at: float | None
    score: float | None
    max_score: float | None
    note: str


class Ledger:
    """The ledger file; a context manager holding one connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> Ledger:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the ledger is not open")
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def add(self, name: str, student: str, assignment: str, timestamp: str) -> bool:
        """Record a newly seen submission; False when it was known already."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO submissions (name, student, assignment, timestamp, state, "
                "seen_at) VALUES (?, ?, ?, ?, 'received', ?)",
                (name, student, assignment, timestamp, time.time()),
            )
            return cursor.rowcount == 1

    def set_state(self, name: str, state: str, note: str = "", **values: float | None) -> None:
        """Move one submission to ``state`` (with a note and any of graded_at, released_at,
        score, max_score)."""
        allowed = {"graded_at", "released_at", "score", "max_score"}
        if not set(values) <= allowed:
            raise ValueError(f"unknown ledger fields: {sorted(set(values) - allowed)}")
        assignments = "".join(f", {key} = ?" for key in values)
        with self._transaction() as db:
            db.execute(
                f"UPDATE submissions SET state = ?, note = ?{assignments} WHERE name = ?",
                (state, note, *values.values(), name),
            )

    def resume(self, grader_error: str) -> int:
        """After a restart: what was being graded, and what failed because of the grader (its
        note starts with ``grader_error``), is graded again. Returns how many."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE submissions SET state = 'received' WHERE state = 'grading' "
                "OR (state = 'failed' AND note LIKE ? || '%')",
                (grader_error,),
            ).rowcount

    def overtaken(self, grader_error: str) -> list[Entry]:
        """What :meth:`resume` would grade again (caught mid-grading, or failed because of the
        grader) that a later submission of the same student and assignment, graded since, has
        overtaken: graded again, it would replace the later one in the course."""
        rows = self.db.execute(
            "SELECT * FROM submissions AS s WHERE (s.state = 'grading' OR (s.state = 'failed' "
            "AND s.note LIKE ? || '%')) AND EXISTS (SELECT 1 FROM submissions AS later "
            "WHERE later.student = s.student AND later.assignment = s.assignment "
            "AND later.state IN ('graded', 'released', 'released_public') "
            "AND (later.timestamp > s.timestamp OR (later.timestamp = s.timestamp "
            "AND later.name > s.name))) ORDER BY s.timestamp, s.name",
            (grader_error,),
        ).fetchall()
        return [Entry(*row) for row in rows]

    def in_state(self, *states: str) -> list[Entry]:
        """Submissions in any of ``states``, oldest first."""
        marks = ",".join("?" * len(states))
        rows = self.db.execute(
            f"SELECT * FROM submissions WHERE state IN ({marks}) ORDER BY timestamp, name",
            states,
        ).fetchall()
        return [Entry(*row) for row in rows]

    def graded_since(self, student: str, assignment: str, since: float) -> int:
        """How many of a student's submissions of ``assignment`` were graded after ``since``."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM submissions WHERE student = ? AND assignment = ? "
            "AND graded_at IS NOT NULL AND graded_at >= ?",
            (student, assignment, since),
        ).fetchone()
        return int(row[0])

    def graded_times(self, student: str, assignment: str, last: int) -> list[float]:
        """When the student's ``last`` most recently graded submissions of ``assignment``
        were graded."""
        rows = self.db.execute(
            "SELECT graded_at FROM submissions WHERE student = ? AND assignment = ? "
            "AND graded_at IS NOT NULL ORDER BY graded_at DESC LIMIT ?",
            (student, assignment, last),
        ).fetchall()
        return [float(row[0]) for row in rows]


def read_ledger(path: Path) -> list[Entry]:
    """Every entry of the ledger at ``path`` (read only; for status and tests)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return [
            Entry(*r)
            for r in db.execute("SELECT * FROM submissions ORDER BY timestamp, name").fetchall()
        ]
