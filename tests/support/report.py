"""What the report tests' class (``tests/report/conftest.py``) says: the message of the
unreadable notebook and the tampering flag."""

from __future__ import annotations

UNREADABLE = "not a notebook: Expecting ',' delimiter: line 40 column 1"
FLAG = "input transformer installed"
