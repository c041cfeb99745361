"""Ids from URLs and forms, read in one place.

A database id is a signed 64-bit integer (BigAutoField; SQLite's and PostgreSQL's
bigint). A number past that range is not an id of anything: reading it as one would
crash the query (SQLite raises OverflowError), so it is answered like any id that does
not exist — 404, or the form's own message. Only ASCII digits count: `str.isdigit`
also accepts "²" and "٣", which `int()` then refuses or reads as something else.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import Http404
from django.urls import register_converter

MAX_ID = 2**63 - 1
_DIGITS = frozenset("0123456789")
# Long enough for MAX_ID, short enough that int() never sees a huge string.
_MAX_LENGTH = len(str(MAX_ID))


def parse(value: object) -> int | None:
    """The id written in `value`, or None when it is not one (blank, signs, spaces,
    non-ASCII digits, past the database's range)."""
    text = str(value) if value is not None else ""
    if not text or len(text) > _MAX_LENGTH or not set(text) <= _DIGITS:
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def parse_or_404(value: object) -> int:
    number = parse(value)
    if number is None:
        raise Http404
    return number


def parse_list(values: Iterable[str]) -> tuple[list[int], bool]:
    """Ids from form or URL values (each may hold several, comma-separated), in order,
    without repeats, and whether anything that is not an id was among them."""
    found: list[int] = []
    junk = False
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            number = parse(part)
            if number is None:
                junk = True
            elif number not in found:
                found.append(number)
    return found, junk


class IdConverter:
    """`<id:name>` in URL patterns: digits within the database's range, else no match
    (so 404), where Django's `<int:>` would pass any length on to the query."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = parse(value)
        if number is None:
            raise ValueError(value)
        return number

    def to_url(self, value: int) -> str:
        return str(value)


# Registered on import: every urls.py that uses `<id:…>` imports this module first.
register_converter(IdConverter, "id")
