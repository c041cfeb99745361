"""Messages stored for people to read later, and how each reader gets them in their language.

A job's failure reason (`Generation.error_message`) and a key's last refusal
(`ApiKey.last_error`) are written once, by a worker or by whoever acted, and read
later by anyone in the team, each in their own language. So they are stored in
English (the msgids below and `evolink.errors.ERRORS`, marked with gettext_noop) and
translated when shown: `readable(text)` recognises a stored message, even one with
names or numbers filled in, and renders it again in the active language. Anything it
does not recognise (the upstream's own words, an older wording) is shown as stored,
which is why the stored text stays plain English and complete.
"""

from __future__ import annotations

import re
from functools import cache

from django.utils.translation import gettext, gettext_noop

from playground.evolink import errors

# --- Job messages (playground/generations) --------------------------------------------
NO_API_KEY = gettext_noop(
    "No EvoLink API key is set up for this team, so nothing was sent and nothing was "
    "charged. Ask your team admin to add one."
)
KEYS_REFUSED = gettext_noop(
    "EvoLink refused every API key this team can use, so nothing was sent and nothing "
    "was charged. Ask your team admin to check the team's keys. (%(reasons)s)"
)
SUBMISSION_UNCERTAIN = gettext_noop(
    "EvoLink may have received this request, but its answer never reached us. It may "
    "still run and be charged, so we did not send it again. Press “Submit again” if you "
    "still need the image (it may then be charged twice); a team admin can check "
    "EvoLink's task list to see whether it ran."
)
RESULTS_EXPIRED = gettext_noop(
    "%(missing)d of %(total)d images could not be saved before EvoLink's links expired."
)
SAVING_RETRY = gettext_noop("Saving the images failed; retrying.")
STOPPED_CHECKING = gettext_noop(
    "We stopped checking after %(minutes)d minutes. The task may still finish at "
    "EvoLink: press “Check again” to look."
)
MODEL_GONE = gettext_noop(
    "EvoLink does not offer %(model)s any more; ask an admin to switch it off. Not charged: "
    "EvoLink refused the request, so no task was created."
)
KEYS_RESTING = gettext_noop(
    "Every EvoLink key of this team has used up its daily quota, so nothing was sent and "
    "nothing was charged. The first one works again at %(time)s; try again then, or ask "
    "a team admin to add a key."
)
MODEL_OFF = gettext_noop(
    "%(model)s was switched off for this team before the job was sent: nothing was sent "
    "and nothing was charged."
)
KEY_REFUSED_READ = gettext_noop(
    "EvoLink stopped letting this team read task %(task)s (its key was refused: %(reason)s) "
    "and no other key of the team could read it. The task may have run and been charged: a "
    "team admin can look it up by that id in EvoLink's dashboard, then fix or replace the key."
)
CANCELLED_BY = gettext_noop("Cancelled by %(name)s before it was sent to EvoLink: not charged.")
# A job sent as several upstream tasks (GPT Image 1.5): how many images it made, and why
# the others were not (the sentences below, each ending with its own full stop).
PARTS_MADE = gettext_noop("%(made)d of %(total)d images were made; %(rest)s")
PARTS_FAILED = gettext_noop("%(count)d failed: %(reason)s")
PARTS_CANCELLED = gettext_noop("%(count)d cancelled before they were sent (not charged).")
PARTS_UNCERTAIN = gettext_noop(
    "%(count)d may have reached EvoLink without an answer (not sent again; they may be charged)."
)
PARTS_TIMED_OUT = gettext_noop("%(count)d still running at EvoLink when we stopped waiting.")

_OURS = (
    NO_API_KEY,
    KEYS_REFUSED,
    SUBMISSION_UNCERTAIN,
    RESULTS_EXPIRED,
    SAVING_RETRY,
    STOPPED_CHECKING,
    CANCELLED_BY,
    PARTS_MADE,
    PARTS_FAILED,
    PARTS_CANCELLED,
    PARTS_UNCERTAIN,
    PARTS_TIMED_OUT,
    MODEL_GONE,
    MODEL_OFF,
    KEYS_RESTING,
    KEY_REFUSED_READ,
    errors.UPLOAD_REFUSED,
    errors.UPLOAD_NO_REASON,
    errors.UPLOAD_UNREACHABLE,
    errors.UPLOAD_UNREADABLE,
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")


@cache
def _index() -> tuple[frozenset[str], tuple[tuple[re.Pattern[str], str], ...]]:
    """The messages without placeholders (matched whole, or as the start of a message
    that goes on with the upstream's own words), and a pattern for each of the others."""
    msgids = {kind.message for kind in errors.ERRORS.values()} | set(_OURS)
    plain = frozenset(m for m in msgids if not _PLACEHOLDER.search(m))
    patterns = []
    for msgid in sorted(msgids - plain):
        pattern, last = "", 0
        for found in _PLACEHOLDER.finditer(msgid):
            pattern += re.escape(msgid[last : found.start()])
            kind = r"-?\d+" if found.group(2) == "d" else ".+?"
            pattern += f"(?P<{found.group(1)}>{kind})"
            last = found.end()
        pattern += re.escape(msgid[last:])
        patterns.append((re.compile(pattern, re.DOTALL), msgid))
    return plain, tuple(patterns)


def readable(text: str, code: str = "") -> str:
    """A stored message in the reader's language; `code`, a job's `error_code`, finds
    the upstream's message at once. Unknown text comes back as it is."""
    if not text:
        return text
    kind = errors.ERRORS.get(code)
    if kind is not None and text == kind.message:
        return gettext(kind.message)
    plain, patterns = _index()
    if text in plain:
        return gettext(text)
    for pattern, msgid in patterns:
        found = pattern.fullmatch(text)
        if found:
            # A filled-in part may itself be one of our messages (an upload's reason).
            values = {
                name: int(value) if f"%({name})d" in msgid else readable(value)
                for name, value in found.groupdict().items()
            }
            return gettext(msgid) % values
    # One of ours followed by the upstream's own explanation (a 400's detail, a
    # download's error): the first part translated, the rest as it came.
    for msgid in plain:
        if text.startswith(msgid + " "):
            return gettext(msgid) + text[len(msgid) :]
    return text
