"""Threads in templates: `{% comment_thread generation image as thread %}`, a comment's
text as HTML (`comment.body|comment_text`), a job's count on a tile."""

from __future__ import annotations

import re

from django import template
from django.template import Context
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


@register.simple_tag(takes_context=True)
def comment_thread(
    context: Context, generation: Generation, image: ResultImage | None = None
) -> threads.Thread:
    """The thread, from the page's `comment_threads` when it loaded them all at once
    (`job_threads`, `image_threads`), else on its own."""
    preloaded = context.get("comment_threads") or {}
    key = threads.key_of(generation.pk, image.pk if image else None)
    return preloaded.get(key) or threads.thread_of(generation, image)


@register.simple_tag
def job_threads(generation: Generation) -> dict[str, threads.Thread]:
    """A job's own thread and its images' in two queries (its page)."""
    return threads.threads_of([generation], generation.images.all())


@register.simple_tag
def image_threads(images: list[ResultImage]) -> dict[str, threads.Thread]:
    """The threads of these images in two queries (a comparison)."""
    return threads.threads_of(images=images)


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
