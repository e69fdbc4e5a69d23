"""The course in other languages, from one source.

The English notebooks in ``source/<assignment>/`` stay the only source of code, tests and points.
Their student-facing text (markdown, instructing comments, docstrings, assertion messages) is
extracted into one gettext PO file per notebook (``locale/<language>/<Notebook>.po``), keyed by
the cell's grade id and the part's index, so that editing a cell marks exactly its translation
stale. ``grader release`` builds ``source/<assignment>-<language>/`` from the two and releases
it with nbgrader like any other assignment.

Modules: :mod:`~grader.i18n.extract` (what is translatable), :mod:`~grader.i18n.catalog` (PO
files), :mod:`~grader.i18n.tokens` (what a translation must keep), :mod:`~grader.i18n.codecompare`
(code equal up to strings and comments), :mod:`~grader.i18n.render` (a translated notebook),
:mod:`~grader.i18n.build` (the translated assignments, all or nothing), :mod:`~grader.i18n.cli`.
"""

from grader.i18n.errors import Problem, TranslationError

#: Languages the course is translated into, and the text direction of each.
LANGUAGES: dict[str, str] = {"he": "rtl"}

__all__ = ["LANGUAGES", "Problem", "TranslationError"]
