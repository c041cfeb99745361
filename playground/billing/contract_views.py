"""The "Check contract" button of the keys page, for superusers only.

A check proves with a real key that EvoLink answers as the playground relies on
(playground/evolink/contract.py). Only superusers run it: a paid check spends the
key's credits, and its table shows EvoLink's raw answers. Members and admins of the
team get 403, strangers 404, as everywhere.
"""

from __future__ import annotations

import itertools

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from playground.audit.log import record
from playground.audit.models import Action
from playground.billing import contract_checks
from playground.billing.models import ApiKey, ContractCheck
from playground.evolink.contract import CHEAPEST_ESTIMATE
from playground.teams import access
from playground.teams.models import Membership, Team

PAGE = "billing/contract_check.html"
USD_PER_CREDIT = 68  # 68 credits = 1 USD, EvoLink's price model


def _superuser_team(request: access.AuthedRequest, slug: str) -> Team:
    if not request.user.is_superuser:
        access.membership(request, slug)  # 404 for a stranger
        raise PermissionDenied
    team = get_object_or_404(Team, slug=slug)
    if Membership.objects.filter(user_id=request.user.pk, team=team).exists():
        access.membership(request, slug)  # the header shows the team
    return team


@require_http_methods(["GET", "POST"])
def contract_check_start(request: access.AuthedRequest, team: str, key_id: int) -> HttpResponse:
    """GET: the confirmation page of the paid check. POST: start a check (paid with
    `spend=1`) and show its page."""
    team_obj = _superuser_team(request, team)
    key = get_object_or_404(ApiKey.objects.for_team_admins(team_obj), pk=key_id)
    if request.method == "GET":
        return render(
            request,
            "billing/contract_confirm.html",
            {
                "team": team_obj,
                "key": key,
                "estimate": CHEAPEST_ESTIMATE,
                "usd": CHEAPEST_ESTIMATE / USD_PER_CREDIT,
            },
        )
    spend = request.POST.get("spend") == "1"
    with transaction.atomic():
        # A second press (or a second tab) while a check of this key runs joins it
        # instead of paying for another job.
        ApiKey.objects.select_for_update(of=("self",)).filter(pk=key.pk).first()
        running = ContractCheck.objects.filter(
            key=key,
            spend=spend,
            state__in=(ContractCheck.State.QUEUED, ContractCheck.State.RUNNING),
        ).first()
        if running and not contract_checks.stalled(running):
            messages.info(request, _("A check of this key is already running: here it is."))
            return redirect("contract_check", team=team, check_id=running.pk)
        check = contract_checks.start(
            key=key, spend=spend, requested_by=request.user, team=team_obj
        )
        record(
            Action.CONTRACT_CHECK_STARTED,
            team=team_obj,
            actor=request.user,
            request=request,
            target=key.label,
            changes={"spend": [None, spend]},
        )
    return redirect("contract_check", team=team, check_id=check.pk)


@require_GET
def contract_check(request: access.AuthedRequest, team: str, check_id: int) -> HttpResponse:
    """The table, as far as it has come; it refreshes itself until the check ends."""
    team_obj = _superuser_team(request, team)
    check = get_object_or_404(
        ContractCheck.objects.select_related("requested_by"), pk=check_id, team=team_obj
    )
    template = f"{PAGE}#contract-check" if request.htmx else PAGE
    return render(
        request,
        template,
        {
            "team": team_obj,
            "check": check,
            "rows": check.rows,
            # Consecutive rows of one request under one heading.
            "groups": [
                (step, [{**row, "expected_text": _(row.get("expected", ""))} for row in rows])
                for step, rows in itertools.groupby(check.rows, key=lambda row: row.get("step"))
            ],
            "stalled": contract_checks.stalled(check),
            "differences": len(check.differences),
        },
    )
