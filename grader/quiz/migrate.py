"""Create and upgrade the quiz database with the Alembic revisions shipped in
``grader.quiz.migrations``: the same scripts for SQLite and PostgreSQL.

A database made by the first release (the table, no version table) is stamped at its revision
first and then upgraded, so existing attempts are kept.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from grader.quiz.tables import VERSION_TABLE

SCRIPT_LOCATION = "grader.quiz:migrations"
FIRST_RELEASE = "0001"


class SchemaError(RuntimeError):
    """The database is not at the revision this version of the server needs."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision shipped with this package."""
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def migrate(engine: Engine) -> str:
    """Bring the database to the newest revision; return it."""
    with engine.begin() as conn:
        names = set(inspect(conn).get_table_names())
        if "quiz_attempt" in names and VERSION_TABLE not in names:
            command.stamp(_config(conn), FIRST_RELEASE)
    with engine.begin() as conn:
        command.upgrade(_config(conn), "head")
        return str(current(conn))


def check(engine: Engine) -> None:
    """Raise SchemaError unless the database is at the newest revision."""
    with engine.connect() as conn:
        found = current(conn)
        tables = set(inspect(conn).get_table_names())
    if found is None and "quiz_attempt" not in tables:
        where = engine.url.render_as_string(hide_password=True)
        raise SchemaError(
            f"{where} holds no quiz database: check the database URL (--db); "
            "`grader quiz migrate` creates one there"
        )
    if found != head():
        raise SchemaError(
            f"the quiz database is at revision {found or 'none'}, this server needs {head()}: "
            "start `grader quiz serve` once (it migrates) or run `grader quiz migrate`"
        )
