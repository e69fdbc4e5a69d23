"""Alembic environment: run the revisions on the connection handed over by the caller.

``grader.quiz.schema.migrate`` puts an open SQLAlchemy connection in
``config.attributes["connection"]``; this project never migrates from a URL in a file.
"""

from __future__ import annotations

from alembic import context

from grader.quiz.tables import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the quiz migrations through grader.quiz.schema.migrate")
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
)
with context.begin_transaction():
    context.run_migrations()
