"""Which models a team may use: data its admins and the site's superusers control.

A model is offered to a team when (1) the site offers it: a superuser's `ModelSwitch`
row if there is one, else the catalogue (a model EvoLink withdrew, `withdrawn_on`, is
off unless settings.PLAYGROUND_OFFER_WITHDRAWN_MODELS), and (2) the team's admins have
not switched it off (`TeamModelOff`). The studio, the matrix and its templates offer
only these; a job of any model stays readable.

When EvoLink refuses a create because the model is gone, the job fails once and the
team's admins are told once (`ModelNotice`): by e-mail, and on their studio page until
someone switches the model off.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from playground import catalogue, stored_messages
from playground.teams.models import ModelNotice, ModelSwitch, Team, TeamModelOff

log = logging.getLogger(__name__)

MODEL_GONE = stored_messages.MODEL_GONE


class ModelOff(Exception):
    """The sentence that says which model is switched off, and where."""


def site_offers(model_id: str) -> bool:
    """Whether the site offers a model to every team (a superuser's switch wins)."""
    switch = ModelSwitch.objects.filter(model=model_id).first()
    if switch is not None:
        return switch.enabled
    spec = catalogue.MODELS.get(model_id)
    if spec is None:
        return False
    return not spec.withdrawn or bool(getattr(settings, "PLAYGROUND_OFFER_WITHDRAWN_MODELS", False))


def available_models(team: Team | None) -> list[catalogue.ModelSpec]:
    """The models the team may start jobs with, in the catalogue's order.

    One query (it runs on every render of the live history, for "Edit with mask"): the
    site's switches and the team's offs together, each row tagged with where it came from.
    """
    site = ModelSwitch.objects.annotate(team_off=Value(False)).values_list(
        "model", "enabled", "team_off"
    )
    team_offs = (
        TeamModelOff.objects.filter(team=team)
        .annotate(enabled=Value(False), team_off=Value(True))
        .values_list("model", "enabled", "team_off")
    )
    switches: dict[str, bool] = {}
    off: set[str] = set()
    for model, enabled, team_off in site.union(team_offs, all=True):
        if team_off:
            off.add(model)
        else:
            switches[model] = enabled
    offer_withdrawn = bool(getattr(settings, "PLAYGROUND_OFFER_WITHDRAWN_MODELS", False))
    return [
        spec
        for spec in catalogue.MODELS.values()
        if switches.get(spec.id, not spec.withdrawn or offer_withdrawn) and spec.id not in off
    ]


def is_available(team: Team | None, model_id: str) -> bool:
    return any(spec.id == model_id for spec in available_models(team))


def mask_model(team: Team | None) -> catalogue.ModelSpec | None:
    """The first model the team may use whose edits take a mask (gpt-image-2), or None:
    "Edit with mask" is offered only when there is one."""
    return next((spec for spec in available_models(team) if spec.takes_mask), None)


def no_mask_model_message() -> str:
    """Why "Edit with mask" opens the studio without the painter, when no model the team
    may use takes a mask (mask_model is None): the site offers it but the team's admins
    switched it off, or the site does not offer it."""
    spec = next((spec for spec in catalogue.MODELS.values() if spec.takes_mask), None)
    label = spec.label if spec else "gpt-image-2"
    if spec is not None and site_offers(spec.id):
        return _(
            "Masks need %(model)s, which the admins of this team switched off: the image "
            "is attached to edit without a mask."
        ) % {"model": label}
    return _(
        "Masks need %(model)s, which this site does not offer: the image is attached to "
        "edit without a mask."
    ) % {"model": label}


def model_or_default(team: Team | None, model_id: str | None) -> str | None:
    """`model_id` when the team may use it, else the default model, else the first one
    offered (None when every model is off)."""
    ids = [spec.id for spec in available_models(team)]
    for candidate in (model_id, catalogue.DEFAULT_MODEL):
        if candidate in ids:
            return candidate
    return ids[0] if ids else None


def require(team: Team, model_id: str) -> None:
    """Raise ModelOff, with a sentence saying so, if the team may not use the model."""
    if is_available(team, model_id):
        return
    spec = catalogue.MODELS.get(model_id)
    label = spec.label if spec else model_id
    if spec is not None and site_offers(model_id):
        raise ModelOff(
            _("%(model)s is switched off for this team by its admins. Pick another model.")
            % {"model": label}
        )
    raise ModelOff(
        _("%(model)s is not offered on this site. Pick another model.") % {"model": label}
    )


def switch_for_team(team: Team, model_id: str, *, on: bool, by: User) -> None:
    if on:
        TeamModelOff.objects.filter(team=team, model=model_id).delete()
    else:
        TeamModelOff.objects.get_or_create(
            team=team, model=model_id, defaults={"switched_off_by": by}
        )


def switch_for_site(model_id: str, *, on: bool, by: User) -> None:
    ModelSwitch.objects.update_or_create(
        model=model_id, defaults={"enabled": on, "changed_by": by, "changed_at": timezone.now()}
    )


def gone_message(model_id: str) -> str:
    spec = catalogue.MODELS.get(model_id)
    return MODEL_GONE % {"model": spec.label if spec else model_id}


def tell_admins_once(team: Team, model_id: str) -> bool:
    """EvoLink refused `model_id` as unavailable: tell the team's admins, once ever per
    team and model. True if this call told them."""
    try:
        with transaction.atomic():
            ModelNotice.objects.create(team=team, model=model_id)
    except IntegrityError:
        return False  # someone (another job, another worker) already told them
    recipients = [m.user.email for m in team.admins().select_related("user") if m.user.email]
    if recipients:
        spec = catalogue.MODELS.get(model_id)
        label = spec.label if spec else model_id
        with override(settings.LANGUAGE_CODE):
            subject = _("EvoLink no longer offers %(model)s") % {"model": label}
            body = _(
                "A job of team %(team)s was refused by EvoLink because it does not offer "
                "%(model)s any more. Nothing was charged. Switch the model off for the team "
                "on its keys page so nobody starts another job with it."
            ) % {"team": team.name, "model": label}
        try:
            send_mail(subject, body, None, recipients)
        except Exception:  # the notice on the studio page still tells them
            log.exception("could not e-mail the admins of team %s", team.pk)
    return True


def admin_warnings(team: Team) -> list[str]:
    """Models EvoLink refused as gone that the team still offers: say so to its admins."""
    gone = ModelNotice.objects.filter(team=team).values_list("model", flat=True)
    offered = {spec.id for spec in available_models(team)}
    return [
        _("EvoLink refused %(model)s as no longer offered: switch it off for the team.")
        % {"model": catalogue.MODELS[m].label if m in catalogue.MODELS else m}
        for m in gone
        if m in offered
    ]
