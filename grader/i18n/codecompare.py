"""Code equal up to strings and comments: the promise a translated notebook keeps."""

from __future__ import annotations

import io
import tokenize

_DROPPED = {tokenize.COMMENT, tokenize.NL}
_CONTENT_FREE = {tokenize.NEWLINE, tokenize.ENDMARKER, tokenize.DEDENT}


def code_tokens(source: str) -> list[tuple[str, str]]:
    """The token stream of ``source`` without comments, blank lines and the text of strings.

    A string keeps its prefix and quotes (so ``f"..."`` still differs from ``"..."``) but not its
    content; on Python 3.12 and later the literal parts of an f-string go too, its fields stay.
    Raises :class:`tokenize.TokenError` on code that cannot be tokenized.
    """
    tokens: list[tuple[str, str]] = []
    fstring_middle = getattr(tokenize, "FSTRING_MIDDLE", None)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in _DROPPED or token.type == fstring_middle:
            continue
        name = tokenize.tok_name[token.type]
        if token.type == tokenize.STRING:
            quote = next(i for i, c in enumerate(token.string) if c in "'\"")
            width = 3 if token.string[quote : quote + 3] in ("'''", '"""') else 1
            tokens.append((name, token.string[: quote + width]))
        elif token.type in _CONTENT_FREE:
            tokens.append((name, ""))
        else:
            tokens.append((name, token.string))
    return tokens


def code_difference(english: str, translated: str) -> str | None:
    """None when the two sources are the same code; else where they first differ."""
    ours, theirs = code_tokens(english), code_tokens(translated)
    for position, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return f"token {position}: {a[1]!r} became {b[1]!r}"
    if len(ours) != len(theirs):
        return f"{len(ours)} code tokens became {len(theirs)}"
    return None
