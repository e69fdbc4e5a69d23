"""Alembic migrations of the quiz database (the same scripts for SQLite and PostgreSQL).

They ship inside the package and are run by ``grader.quiz.schema.migrate``; nothing needs an
``alembic.ini``.
"""
