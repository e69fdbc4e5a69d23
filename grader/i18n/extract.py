"""What a translator translates in a notebook: markdown blocks and the strings a student reads.

Markdown cells are split into blocks at blank lines; fenced code and display maths stay as they
are. In code cells the translatable parts are instructing comments, docstrings, the messages
of ``assert`` statements; code, identifiers, grade ids, printed labels and everything else between
nbgrader's ``BEGIN SOLUTION``/``BEGIN HIDDEN TESTS`` markers and their ends are not.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

import nbformat

#: nbgrader's markers: a comment holding one of these is never translated.
MARKERS = (
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN HIDDEN TESTS",
    "END HIDDEN TESTS",
    "BEGIN MARK SCHEME",
    "END MARK SCHEME",
    "YOUR CODE HERE",
    "YOUR ANSWER HERE",
)
_REGIONS = (("BEGIN SOLUTION", "END SOLUTION"), ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"))
_PRAGMA = re.compile(r"#\s*(noqa|type:|pragma|fmt:)")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_STRING = re.compile(r"([rRuUfF]*)('''|\"\"\"|'|\")", re.DOTALL)
_LETTERS = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class Slot:
    """A translatable piece of a code cell: its kind, English text and place in the source.

    ``start`` and ``end`` are tokenize's (row, column) of the comment group or string token.
    For strings, ``prefix`` and ``quote`` are kept as written; a docstring's continuation lines
    are given to the translator without the indentation ``indent``, and ``lead``/``trail`` (the
    whitespace inside the quotes) are put back around the translation.
    """

    kind: str  # "comment", "docstring" or "message"
    text: str
    start: tuple[int, int]
    end: tuple[int, int]
    indent: int = 0
    prefix: str = ""
    quote: str = ""
    lead: str = ""
    trail: str = ""

    @property
    def fstring(self) -> bool:
        """Whether the string is an f-string, whose ``{fields}`` a translation must keep."""
        return "f" in self.prefix.lower()


@dataclass(frozen=True)
class Part:
    """One translatable part of a notebook, as it goes into the PO file."""

    cell: str  # the cell's stable key: its nbgrader grade id, else its cell id
    index: int  # the part's position among the cell's translatable parts
    kind: str  # "markdown", "comment", "docstring" or "message"
    text: str
    fstring: bool = False
    quote: str = ""  # for a string: its quotes, which a translation must not close early

    @property
    def context(self) -> str:
        """The PO entry's ``msgctxt``: cell key and part index."""
        return f"{self.cell}#{self.index}"


def cell_key(cell: nbformat.NotebookNode) -> str:
    """A cell's stable key: the nbgrader grade id where there is one, else the cell id."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return str(grade_id or cell.get("id") or "")


def markdown_blocks(source: str) -> list[tuple[str, bool]]:
    """A markdown text split at blank lines: (block, translatable) pairs, in order.

    A fenced code block is one untranslatable block even if it holds blank lines; a block of
    display maths alone (``$$ ... $$``) or without words is untranslatable too.
    """
    blocks: list[tuple[str, bool]] = []
    current: list[str] = []
    fence: str | None = None

    def flush(code: bool = False) -> None:
        if current:
            text = "\n".join(current)
            stripped = text.strip()
            math = stripped.startswith("$$") and stripped.endswith("$$")
            blocks.append((text, not code and not math and bool(_LETTERS.search(text))))
            current.clear()

    for line in source.split("\n"):
        if fence is not None:
            current.append(line)
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
                flush(code=True)
            continue
        opened = _FENCE.match(line)
        if opened:
            flush()
            fence = opened.group(1)
            current.append(line)
        elif not line.strip():
            flush()
        else:
            current.append(line)
    flush(code=fence is not None)
    return blocks


def _hidden_rows(lines: list[str]) -> set[int]:
    """1-based rows inside nbgrader's solution and hidden-test regions, markers included."""
    rows: set[int] = set()
    inside: str | None = None
    for row, line in enumerate(lines, start=1):
        if inside is None:
            for begin, end in _REGIONS:
                if begin in line:
                    inside = end
        if inside is not None:
            rows.add(row)
            if inside in line:
                inside = None
    return rows


def _char_column(line: str, byte_column: int) -> int:
    return len(line.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))


def _string_kinds(source: str, lines: list[str]) -> Iterator[tuple[str, tuple, tuple]]:
    """Docstrings and assertion messages: (kind, start, end) in tokenize's (row, column).

    An assertion message written as several adjacent strings ("a" "b") is one span; each of its
    strings becomes a part of its own.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return

    def place(row: int, byte_column: int) -> tuple[int, int]:
        return row, _char_column(lines[row - 1], byte_column)

    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                start = place(first.value.lineno, first.value.col_offset)
                yield "docstring", start, start
        elif isinstance(node, ast.Assert) and node.msg is not None:
            for message in _message_strings(node.msg):
                end = place(message.end_lineno or message.lineno, message.end_col_offset or 0)
                yield "message", place(message.lineno, message.col_offset), end


def _message_strings(message: ast.expr) -> list[ast.expr]:
    """The strings an assertion message is made of: the message itself when it is a string,
    both branches of ``"a" if ok else "b"`` (each a whole sentence: no words chosen in code)."""
    if isinstance(message, ast.JoinedStr) or (
        isinstance(message, ast.Constant) and isinstance(message.value, str)
    ):
        return [message]
    if isinstance(message, ast.IfExp):
        return _message_strings(message.body) + _message_strings(message.orelse)
    return []


def _kind_at(spans: list[tuple[str, tuple, tuple]], start: tuple[int, int]) -> str | None:
    """The kind of the string token starting at ``start``, or None if it is not translated."""
    for kind, first, end in spans:
        if start == first or first <= start < end:
            return kind
    return None


def _string_slot(token: tokenize.TokenInfo, kind: str) -> Slot | None:
    matched = _STRING.match(token.string)
    if matched is None:
        return None
    prefix, quote = matched.groups()
    body = token.string[matched.end() : len(token.string) - len(quote)]
    core = body.strip()
    lead = body[: len(body) - len(body.lstrip())]
    trail = body[len(core) + len(lead) :]
    indent = token.start[1]
    lines = core.split("\n")
    text = "\n".join(
        [lines[0]] + [line[indent:] if line[:indent].isspace() else line for line in lines[1:]]
    )
    return Slot(kind, text, token.start, token.end, indent, prefix, quote, lead, trail)


def _comment_slots(tokens: list[tokenize.TokenInfo], lines: list[str], hidden: set[int]):
    """Comment groups: consecutive whole-line comments in one column, or one trailing comment."""
    group: list[tokenize.TokenInfo] = []

    def close() -> Iterator[Slot]:
        if group:
            text = "\n".join(t.string[1:].removeprefix(" ").rstrip() for t in group)
            yield Slot("comment", text, group[0].start, group[-1].end, indent=group[0].start[1])
            group.clear()

    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        row, column = token.start
        if row in hidden or _PRAGMA.match(token.string) or any(m in token.string for m in MARKERS):
            yield from close()
            continue
        whole_line = not lines[row - 1][:column].strip()
        follows = group and group[-1].start[0] == row - 1 and group[-1].start[1] == column
        if not (whole_line and follows):
            yield from close()
        group.append(token)
        if not whole_line:
            yield from close()
    yield from close()


def code_slots(source: str) -> list[Slot]:
    """The translatable pieces of a code cell, in source order.

    Raises :class:`tokenize.TokenError` or :class:`SyntaxError` on code that cannot be read.
    """
    lines = source.split("\n")
    hidden = _hidden_rows(lines)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    spans = list(_string_kinds(source, lines))
    slots = list(_comment_slots(tokens, lines, hidden))
    for token in tokens:
        if token.type != tokenize.STRING:
            continue
        kind = _kind_at(spans, token.start)
        if kind and token.start[0] not in hidden:
            slot = _string_slot(token, kind)
            if slot is not None:
                slots.append(slot)
    return sorted(
        (s for s in slots if _LETTERS.search(s.text)),
        key=lambda s: s.start,
    )


def cell_parts(cell: nbformat.NotebookNode) -> list[Part]:
    """The translatable parts of one cell (none for raw cells)."""
    key = cell_key(cell)
    if cell.cell_type == "markdown":
        texts = [("markdown", block, False, "") for block, ok in markdown_blocks(cell.source) if ok]
    elif cell.cell_type == "code":
        texts = [(s.kind, s.text, s.fstring, s.quote) for s in code_slots(cell.source)]
    else:
        texts = []
    return [Part(key, i, *fields) for i, fields in enumerate(texts)]


def notebook_parts(notebook: nbformat.NotebookNode) -> list[Part]:
    """Every translatable part of a notebook, in cell order."""
    return [part for cell in notebook.cells for part in cell_parts(cell)]
