"""Revisions of the quiz database, oldest first by their ``down_revision`` chain."""
