"""How a number is written for people: one way everywhere, in the reader's language.

Every figure a message or a page shows goes through here, so "(got 5,000)" in one
message is never "(got 5000)" in the next. Korean and Japanese group digits and mark
decimals as English does ("1,234.50"); the separators are Django's for the language.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats


def grouped(value: int) -> str:
    """A whole number with its thousands grouped: 5000 → "5,000"."""
    return formats.number_format(value, force_grouping=True)


def credits(value: Decimal) -> str:
    """Credits to two decimals, rounded half up (Django's number_format would truncate
    0.666 to 0.66): 1234.5 → "1,234.50". The exact figure goes on hover, as a title."""
    rounded = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return formats.number_format(rounded, 2, force_grouping=True)
