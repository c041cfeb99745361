"""Threads in templates: `{% comment_thread generation image as thread %}`, a comment's
text as HTML (`comment.body|comment_text`), a job's count on a tile."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape, urlize
from django.utils.safestring import SafeString, mark_safe

from playground.comments import threads
from playground.comments.models import Comment
from playground.generations.models import Generation, ResultImage

register = template.Library()

# A word that is (or starts) an address: made clickable whole, never split at an "@"
# inside it ("https://example.com/@ana" is a link, not a mention).
_ADDRESS = re.compile(r"^(https?://|www\.)", re.IGNORECASE)
_SPACES = re.compile(r"(\s+)")


@register.simple_tag
def comment_thread(generation: Generation, image: ResultImage | None = None) -> threads.Thread:
    return threads.thread_of(generation, image)


@register.filter
def comment_text(comment: Comment) -> SafeString:
    """The text as written: escaped first, then links made clickable, the people it
    mentions marked, line breaks kept. Nothing of the text is ever read as HTML."""
    named = {mention.user.username.lower() for mention in comment.mentions.all()}
    pieces: list[str] = []
    for piece in _SPACES.split(comment.body):
        if not piece:
            continue
        if piece.isspace():
            pieces.append(escape(piece).replace("\n", "<br>"))
        elif _ADDRESS.match(piece):
            pieces.append(urlize(piece, nofollow=True, autoescape=True))
        else:
            pieces.append(_with_mentions(piece, named))
    return mark_safe("".join(pieces))  # noqa: S308 (every piece escaped above)


def _with_mentions(word: str, named: set[str]) -> str:
    out: list[str] = []
    last = 0
    for match in threads.MENTION.finditer(word):
        name = match.group(1).rstrip(".")
        if name.lower() not in named:
            continue
        out.append(urlize(word[last : match.start()], nofollow=True, autoescape=True))
        out.append(f'<span class="mention" translate="no">@{escape(name)}</span>')
        last = match.start() + 1 + len(name)
    out.append(urlize(word[last:], nofollow=True, autoescape=True))
    return "".join(out)


@register.filter
def comment_count(counts: dict[int, int] | None, generation_id: int) -> int:
    """A job's count from the page's `comment_counts` (threads.counts_for), 0 if none."""
    return (counts or {}).get(generation_id, 0)
