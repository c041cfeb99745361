"""The spend alerts' page: a team's thresholds, webhook and delivery history (admins
only; the same card shows on the team page through `{% spend_alerts %}`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from playground.alerts.forms import AlertSettingsForm
from playground.alerts.models import AlertSettings, SpendAlert
from playground.audit.log import diff, record
from playground.audit.models import Action
from playground.teams import access
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership

PAGE = "alerts/page.html"
# What the audit log names (stored in English, like every entry's target).
AUDIT_TARGET = "spend alerts"


def _page(
    request: AuthedRequest,
    membership: Membership,
    *,
    form: AlertSettingsForm | None = None,
    new_secret: str = "",
    status: int = 200,
) -> HttpResponse:
    team = membership.team
    found = AlertSettings.of(team)
    context: dict[str, Any] = {
        "team": team,
        "membership": membership,
        "alerts_form": form or AlertSettingsForm(instance=found),
        "alert_settings": found,
        "alerts": SpendAlert.objects.history(team)[:50],
        "new_secret": new_secret,
    }
    return render(request, PAGE, context, status=status)


@require_GET
def alerts_page(request: AuthedRequest, team: str) -> HttpResponse:
    membership = access.membership(request, team)
    access.require_admin(membership)
    return _page(request, membership)


def _state(found: AlertSettings) -> dict[str, Any]:
    return {"thresholds": list(found.thresholds), "webhook_url": found.webhook_url}


@require_POST
def alerts_settings(request: AuthedRequest, team: str) -> HttpResponse:
    """Save the thresholds and the webhook URL. A first webhook gets its signing
    secret, shown once, here."""
    membership = access.membership(request, team)
    access.require_admin(membership)
    found = AlertSettings.of(membership.team)
    before = _state(found)
    form = AlertSettingsForm(request.POST, instance=found)
    if not form.is_valid():
        return _page(request, membership, form=form, status=400)
    new_secret = ""
    with transaction.atomic():
        found = form.save(commit=False)
        if found.webhook_url and not found.webhook_secret_encrypted:
            new_secret = found.new_secret()
        found.save()
        record(
            Action.BUDGET_CHANGED,
            team=membership.team,
            actor=request.user,
            request=request,
            target=AUDIT_TARGET,
            changes={
                **diff(before, _state(found)),
                **({"webhook_secret": [None, "new"]} if new_secret else {}),
            },
        )
    if new_secret:
        return _page(request, membership, new_secret=new_secret)
    messages.success(request, _("The spend alert settings were saved."))
    return redirect(reverse("team", kwargs={"team": team}) + "#spend-alerts")


@require_POST
def alerts_secret(request: AuthedRequest, team: str) -> HttpResponse:
    """A new signing secret (the old one stops working at once), shown once."""
    membership = access.membership(request, team)
    access.require_admin(membership)
    with transaction.atomic():
        found = AlertSettings.of(membership.team)
        had = bool(found.webhook_secret_encrypted)
        new_secret = found.new_secret()
        found.save()
        record(
            Action.BUDGET_CHANGED,
            team=membership.team,
            actor=request.user,
            request=request,
            target=AUDIT_TARGET,
            changes={"webhook_secret": ["old" if had else None, "new"]},
        )
    return _page(request, membership, new_secret=new_secret)
