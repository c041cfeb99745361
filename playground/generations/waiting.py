"""Jobs still waiting to be sent, and cancelling many of them in one action.

"Cancel my waiting jobs" (the studio) and "Cancel waiting cells" (a matrix run) both
end here: each job goes through `Generation.cancel`, the same compare-and-set the
per-job Cancel uses, so a job a worker claimed a moment ago is left to run (it is on
its way to EvoLink) and nothing is ever sent or charged for a cancelled one.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from playground.generations.models import Generation, GenerationQuerySet, State
from playground.teams.models import Team


def waiting_of(user: User, team: Team) -> GenerationQuerySet:
    """The person's own jobs in the team that nothing has sent yet."""
    return Generation.objects.filter(team=team, owner_id=user.pk, state=State.QUEUED)


def waiting_among(pks: Iterable[int]) -> GenerationQuerySet:
    """The jobs of these ids (a matrix run's cells) that nothing has sent yet."""
    return Generation.objects.filter(pk__in=list(pks), state=State.QUEUED)


def cancel_all(jobs: GenerationQuerySet, *, by: User) -> int:
    """Cancel every job of `jobs` that is still QUEUED; returns how many were.

    One compare-and-set per job rather than one bulk UPDATE: a job sent as several
    upstream tasks (GPT Image 1.5 with n > 1) has parts to cancel and may end
    differently, and each job's own cancel already knows how (Generation.cancel)."""
    cancelled = 0
    for job in jobs.order_by("pk"):
        if job.cancel(by=by):
            cancelled += 1
    return cancelled


def cancelled_sentence(cancelled: int) -> str:
    """What the person reads after cancelling many: how many, and that they cost nothing."""
    if not cancelled:
        return _("No job was waiting any more: the jobs already sent run on.")
    return ngettext(
        "%(count)d waiting job was cancelled: nothing was sent or charged.",
        "%(count)d waiting jobs were cancelled: nothing was sent or charged.",
        cancelled,
    ) % {"count": cancelled}
