"""Constrained values, declared once: every boundary (gate events, API bodies, forms, query strings) checks
its input with these types, so no handler ever sees a value that could fail a database or a page.

    Name, Note, Label      text a person typed: no control characters, no bidi overrides, a length limit
    Code                   a lowercase code (category, tariff): ``[a-z0-9_-]{1,32}``
    Count                  a non-negative count of people or places
    UnixSeconds            a moment in whole seconds from 1970 up to (not into) the year 9999
    UnixMillis             the same in milliseconds (gate events)
    Day                    a calendar date in the same years
    Cursor                 a change-feed position the server handed out (fits a 64-bit signed integer)

Why refuse rather than clean: PostgreSQL refuses a NUL in text and SQLite stores it, so the two databases
would disagree; and a name with a right-to-left override reads differently on a page from what was stored.
A refusal names the character and where it is, so the sender can fix it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, Strict, StrictInt, StrictStr

# C0 and C1 controls (NUL among them) and DEL; the bidirectional embeddings, overrides, isolates and marks;
# the Unicode line and paragraph separators (they end a line in JavaScript strings); lone surrogates, which
# no encoder can write
_NEVER_IN_TEXT = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff"
)
_BAD_IN_LINE = re.compile(f"[\t\n\r{_NEVER_IN_TEXT}]")
_BAD_IN_NOTE = re.compile(f"[{_NEVER_IN_TEXT}]")


def _refuse_at(value: str, pattern: re.Pattern[str]) -> str:
    found = pattern.search(value)
    if found is not None:
        raise ValueError(f"character U+{ord(found.group()):04X} at position {found.start()} is not allowed in text")
    return value


def check_line(value: str) -> str:
    """``value`` if it is one line of printable text; ``ValueError`` naming the first character that is not."""
    return _refuse_at(value, _BAD_IN_LINE)


def clean_line(value: str, max_length: int) -> str:
    """``value`` cut to ``max_length`` with every character ``check_line`` refuses replaced by U+FFFD: for text
    that must be kept even when it is bad (a synced name on a row whose other fields must still apply)."""
    return _BAD_IN_LINE.sub("\ufffd", value[:max_length])


def check_note(value: str) -> str:
    """``value`` if it is printable text on one or more lines (tabs and line breaks allowed)."""
    return _refuse_at(value, _BAD_IN_NOTE)


MAX_NAME_CHARS = 200
# a name shown to people: a park, gate, zone, card holder, user
Name = Annotated[StrictStr, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(check_line)]
# a short label a program or a person chose (a reader's name, a gate's status word)
Label = Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(check_line)]
# free text a person typed, e.g. a ranger's reason for a manual open
Note = Annotated[StrictStr, Field(max_length=500), AfterValidator(check_note)]
Code = Annotated[StrictStr, Field(pattern=r"^[a-z0-9_-]{1,32}$", description="lowercase letters, digits, _ and -")]

Count = Annotated[StrictInt, Field(ge=0, le=10_000_000)]

# the first moment of the year 9999: later dates overflow Python's datetime once a time zone is added
END_OF_TIME_S = 253_370_764_800
UnixSeconds = Annotated[
    StrictInt, Field(ge=0, lt=END_OF_TIME_S, description="unix seconds, from 1970 to before the year 9999")
]
UnixMillis = Annotated[
    StrictInt, Field(ge=0, lt=END_OF_TIME_S * 1000, description="unix milliseconds, from 1970 to before 9999")
]

FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9998, 12, 31)


def check_day(value: dt.date) -> dt.date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"date must be between {FIRST_DAY} and {LAST_DAY}")
    return value


Day = Annotated[dt.date, AfterValidator(check_day)]

Cursor = Annotated[int, Field(ge=0, le=2**63 - 1, description="a position in the change feed")]

# A query string, a path segment or a form field is text: these read a whole number from ASCII digits
# (pydantic's lax mode, which never takes "²" or "③" as ``str.isdigit`` does) and hold it to the same bounds.
CountText = Annotated[Count, Strict(False)]
UnixSecondsText = Annotated[UnixSeconds, Strict(False)]


def blank_is_none(value: object) -> object:
    """None for the empty text a form or a query string sends for a field left blank (``day=``)."""
    return None if value == "" else value


OptionalDay = Annotated[Day | None, BeforeValidator(blank_is_none)]
