"""Build the translated assignments (``source/<assignment>-<language>/``), all or nothing.

Every notebook of every requested translation is translated and checked in memory first; any
problem (a missing or malformed PO file, a part without translation, a stale or fuzzy one, a
changed code token, a translation that breaks the code) stops the build before anything is
written, with every problem listed. Then the notebooks are written to a temporary folder inside
the course and moved into place, one rename per assignment.
"""

from __future__ import annotations

import ast
import re
import shutil
import tempfile
import tokenize
from collections.abc import Iterable
from pathlib import Path

import nbformat
import polib

from grader.i18n import LANGUAGES
from grader.i18n.bidi import CONTROLS, embed_code_text, misplaced_values, value_spans
from grader.i18n.catalog import catalog_path, read_catalog
from grader.i18n.codecompare import code_difference
from grader.i18n.errors import Problem, TranslationError
from grader.i18n.extract import Part, cell_key, cell_parts
from grader.i18n.render import isolate_code, language_snippet, translate_notebook
from grader.i18n.tokens import changed_tokens, has_hebrew
from grader.syllabus import COURSE


def course_notebooks() -> dict[str, tuple[str, ...]]:
    """The course's English assignments and their notebooks (``grader.syllabus.COURSE``)."""
    return {a: names for a, names in COURSE.items() if not _split(a)[1]}


def _split(assignment: str) -> tuple[str, str | None]:
    for language in LANGUAGES:
        if assignment.endswith(f"-{language}"):
            return assignment[: -len(language) - 1], language
    return assignment, None


def translated_name(assignment: str, language: str) -> str:
    """The nbgrader id of an assignment's translation, e.g. ``frameworks-he``."""
    return f"{assignment}-{language}"


def translation_targets(root: Path, assignments: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The translated assignments that releasing ``assignments`` builds: name -> (base, language).

    ``frameworks-he`` asks for itself; ``frameworks`` asks for its translation into every
    language. Only languages with a ``locale/<language>/`` folder are built: a course without
    one (a scratch copy of ``source/``) releases its translated assignments as they are.
    """
    english = course_notebooks()
    targets: dict[str, tuple[str, str]] = {}
    for assignment in assignments:
        base, language = _split(assignment)
        if language and base in english:
            if (root / "locale" / language).is_dir():
                targets[assignment] = (base, language)
        elif not language and assignment in english:
            for code in LANGUAGES:
                if (root / "locale" / code).is_dir():
                    targets[translated_name(assignment, code)] = (assignment, code)
    return targets


def entry_problem(part: Part, entry: polib.POEntry | None) -> str | None:
    """Why the catalog entry cannot translate ``part``, or None when it can."""
    what = f"part {part.index} ({part.kind})"
    if entry is None:
        return f"{what} has no translation entry (run `grader translate`)"
    if entry.msgid != part.text:
        return f"{what} is stale: its English text changed (run `grader translate`, then review)"
    if "fuzzy" in entry.flags:
        return f"{what} is fuzzy: the English changed since it was translated; review it"
    if not entry.msgstr.strip():
        return f"{what} is not translated"
    changed = changed_tokens(part.text, entry.msgstr, part.fstring)
    if changed:
        return f"{what}: code or placeholder changed: " + "; ".join(changed)
    return _string_problem(what, entry.msgstr, part.quote)


_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_FIELD = re.compile(r"\{[^{}]*\}")


def bidi_problem(part: Part, translation: str) -> str | None:
    """Why the right-to-left ``translation`` of ``part`` would not show its values intact, or
    None. The build isolates values itself (inline code in markdown; every value of a comment
    or string in code), so a translation holds no bidirectional control characters; then each
    value (inline code, an f-string's field, a number or identifier in code) must come out of
    the Unicode bidirectional algorithm in one piece, in the direction the text is shown in.
    """
    what = f"part {part.index} ({part.kind})"
    control = CONTROLS.search(translation)
    if control:
        return (
            f"{what}: the translation holds the bidirectional control character "
            f"U+{ord(control.group(0)):04X}; remove it, the build isolates values itself"
        )
    values = [m.group(0) for m in _CODE_SPAN.finditer(translation)]
    if part.kind == "markdown":
        rendered, base = isolate_code(translation), "R"
    else:
        rendered, base = embed_code_text(translation), "L"
        if part.fstring:
            values += _FIELD.findall(translation)
        for line in translation.split("\n"):
            values += [line[start:end] for start, end in value_spans(line)]
    misplaced = misplaced_values(rendered, values, base)
    if misplaced:
        return f"{what}: not shown intact right to left: " + "; ".join(misplaced)
    return None


def _string_problem(what: str, text: str, quote: str) -> str | None:
    """Why ``text`` cannot stand between ``quote``s in Python source, or None."""
    if not quote:
        return None
    bare = re.sub(r"\\.", "", text, flags=re.DOTALL)
    if quote in bare or bare.endswith(quote[0]):
        return f"{what}: the translation holds the string's own quote {quote[0]!r}; escape it"
    if len(quote) == 1 and "\n" in text:
        return f"{what}: a one-line string cannot hold a line break"
    return None


def _code_problem(english: str, translated: str) -> str | None:
    try:
        difference = code_difference(english, translated)
    except (tokenize.TokenError, SyntaxError) as error:
        return f"the translated code cannot be read: {error}"
    if difference:
        return f"the translation changes the code ({difference})"
    try:
        ast.parse(english)
    except SyntaxError:
        return None  # IPython syntax: the token comparison is all we can check
    try:
        ast.parse(translated)
    except SyntaxError as error:
        return f"the translation breaks the code (quotes or newlines in a string?): {error.msg}"
    return None


def translate_file(
    root: Path, base: str, name: str, language: str
) -> tuple[nbformat.NotebookNode | None, list[Problem]]:
    """One notebook of ``base`` translated into ``language``, or None and the problems found."""
    label = f"{base}/{name}.ipynb ({language})"
    notebook = nbformat.read(root / "source" / base / f"{name}.ipynb", as_version=4)
    catalog = read_catalog(catalog_path(root, language, name), label)
    entries = {e.msgctxt: e for e in catalog if not e.obsolete}
    problems: list[Problem] = []
    texts: dict[str, list[str]] = {}
    for cell in notebook.cells:
        key = cell_key(cell)
        try:
            parts = cell_parts(cell)
        except (tokenize.TokenError, SyntaxError) as error:
            problems.append(Problem(label, key, f"the English cell cannot be read: {error}"))
            continue
        found = [entry_problem(part, entries.get(part.context)) for part in parts]
        if LANGUAGES[language] == "rtl":
            found += [
                bidi_problem(part, entries[part.context].msgstr)
                for part, problem in zip(parts, found, strict=True)
                if problem is None
            ]
        problems += [Problem(label, key, p) for p in found if p]
        if any(found):
            continue
        texts[key] = [entries[part.context].msgstr for part in parts]
        if cell.cell_type == "markdown" and parts and not any(map(has_hebrew, texts[key])):
            problems.append(Problem(label, key, "the translated markdown has no Hebrew text"))
    if problems:
        return None, problems
    translated = translate_notebook(notebook, texts, language, LANGUAGES[language] == "rtl")
    first = True
    for english, ours in zip(notebook.cells, translated.cells, strict=True):
        if english.cell_type != "code":
            continue
        expected = english.source
        if first:
            expected = expected.rstrip("\n") + "\n\n" + language_snippet(language)
            first = False
        problem = _code_problem(expected, ours.source)
        if problem:
            problems.append(Problem(label, cell_key(english), problem))
    return (None if problems else translated), problems


def build_translations(root: Path, assignments: Iterable[str]) -> list[str]:
    """Build the translated assignments asked for by ``assignments``; returns their names.

    Raises :class:`TranslationError` listing every problem, having written nothing.
    """
    targets = translation_targets(root, assignments)
    english = course_notebooks()
    problems: list[Problem] = []
    built: dict[str, dict[str, nbformat.NotebookNode]] = {}
    for target, (base, language) in targets.items():
        for name in english[base]:
            try:
                notebook, found = translate_file(root, base, name, language)
            except TranslationError as error:
                problems += error.problems
                continue
            problems += found
            if notebook is not None:
                built.setdefault(target, {})[name] = notebook
    if problems:
        raise TranslationError(problems)
    with tempfile.TemporaryDirectory(prefix=".translations-", dir=root) as scratch:
        staged = Path(scratch)
        for target, notebooks in built.items():
            (staged / target).mkdir()
            for name, notebook in notebooks.items():
                nbformat.write(notebook, staged / target / f"{name}.ipynb")
        for target in built:
            destination = root / "source" / target
            if destination.exists():
                destination.rename(staged / f"{target}.previous")
            shutil.move(staged / target, destination)
    return list(built)


#: What nbgrader puts in place of a solution in a translated release: (code comment, text).
#: The text stub is a right-to-left block, like every translated markdown cell.
_STUBS = {
    "he": (
        "# כתבו כאן את הקוד שלכם",
        '<div dir="rtl" lang="he">\n\nכתבו כאן את תשובתכם\n\n</div>',
    )
}


def stub_options(assignment: str) -> list[str]:
    """nbgrader options that write the "your code here" stubs of a translated assignment in
    its language (none for an English assignment)."""
    base, language = _split(assignment)
    if language not in _STUBS or base not in course_notebooks():
        return []
    code, text = _STUBS[language]
    return [
        f"--ClearSolutions.code_stub={code}\nraise NotImplementedError()",
        f"--ClearSolutions.text_stub={text}",
    ]
