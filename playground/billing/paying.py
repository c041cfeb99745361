"""Whether any key can pay for a team's job, said before anyone presses Generate.

The worker decides which key pays (billing.models.payers_for, which decrypts); the web
process only needs to know whether *some* key would be tried, so it asks the same
question without decrypting anything: the team's and the shared keys that are enabled,
not resting until midnight and not refused the model (`ApiKey.objects.paying_for`),
then EVOLINK_API_KEY. With none, a job would be accepted and fail at once; the studio
disables Generate and says why, and every way a job is created refuses it (`require`),
having stored and sent nothing.

Also names the environment's key wherever keys are listed (`fallback_name`): the
simulator's demo key in the local demo, else the server's EVOLINK_API_KEY.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from playground import catalogue
from playground.billing.models import ApiKey, resting_until
from playground.evolink import upstream
from playground.teams.models import Membership, Team

# Why no key can pay (Gap.reason).
NO_KEY, ALL_OFF, RESTING, MODEL_REFUSED = "no_key", "all_off", "resting", "model_refused"


class NoPayer(Exception):
    """The sentence that says no key can pay for the job, why, and what to do."""


@dataclass(frozen=True)
class Gap:
    """No key can pay for a job of `model` in a team, and why."""

    reason: str
    model: str
    until: datetime | None = None

    @property
    def detail(self) -> str:
        """Why, in one sentence (in the reader's language)."""
        if self.reason == RESTING and self.until:
            return _("Every key of this team rests until %(time)s: its daily quota is used up.") % {
                "time": timezone.localtime(self.until).strftime("%Y-%m-%d %H:%M")
            }
        if self.reason == MODEL_REFUSED:
            spec = catalogue.MODELS.get(self.model)
            return _("EvoLink refused %(model)s to every key of this team.") % {
                "model": spec.label if spec else self.model
            }
        if self.reason == ALL_OFF:
            return _("Every key of this team is switched off.")
        return _("This team has no EvoLink key, and the server has none to fall back on.")


def gap(team: Team, model: str) -> Gap | None:
    """None when some key may pay for a job of `model` in `team`; else why not.

    The same rule as the worker's payers_for, without decrypting: EVOLINK_API_KEY pays
    for anything (whether EvoLink accepts it is only known by sending)."""
    if settings.EVOLINK_API_KEY or ApiKey.objects.paying_for(team, model):
        return None
    if until := resting_until(team):
        return Gap(RESTING, model, until)
    keys = ApiKey.objects.filter(Q(team=team) | Q(team__isnull=True))
    if keys.filter(enabled=True).exists():
        # Enabled and awake, yet none pays: EvoLink refused them this model.
        return Gap(MODEL_REFUSED, model)
    if keys.exists():
        return Gap(ALL_OFF, model)
    return Gap(NO_KEY, model)


def refusal(found: Gap, *, admin: bool, refused: bool = True) -> str:
    """What a refusal says: for a member, whom to ask; for an admin, what to do (the
    keys page is theirs). `refused`: a job was asked for and nothing was sent (else it
    is said before, as a preview)."""
    if admin:
        said = _("No key can pay for this team. %(detail)s Add a key on the Keys page.")
    else:
        said = _("No key can pay for this team: ask an admin. %(detail)s")
    said %= {"detail": found.detail}
    return f"{said} {_('Nothing was sent.')}" if refused else said


def preview_problem(membership: Membership, models: list[str]) -> str:
    """Said before Generate is pressed: the first of `models` no key can pay for."""
    for model in models:
        if found := gap(membership.team, model):
            return refusal(found, admin=membership.is_admin, refused=False)
    return ""


def require(membership: Membership, model: str) -> None:
    """Raise NoPayer (nothing stored, nothing sent) when no key can pay for the job."""
    found = gap(membership.team, model)
    if found is not None:
        raise NoPayer(refusal(found, admin=membership.is_admin))


def describe_upstream() -> upstream.Upstream:
    """The configured upstream, and whether any key is set up at all (the server's or a
    stored one): evolink/ sits below billing and cannot look at the stored keys. With
    the server's key set the stored ones change nothing, so they are not asked for (a
    query saved on every studio render, as before the move)."""
    stored = not settings.EVOLINK_API_KEY and ApiKey.objects.filter(enabled=True).exists()
    return upstream.describe(has_stored_key=stored)


def fallback_name(*, even_unset: bool = False) -> str:
    """The environment's key, named for the pages that list keys: "" when it is not set,
    unless `even_unset` (a past job it paid for is still named)."""
    if not settings.EVOLINK_API_KEY and not even_unset:
        return ""
    if upstream.is_loopback_url(settings.EVOLINK_BASE_URL):  # the simulator's address
        return _("the simulator's demo key (EVOLINK_API_KEY)")
    return _("the server's EVOLINK_API_KEY")
