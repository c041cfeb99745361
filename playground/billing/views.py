"""A team's API keys, managed by its admins in the app.

Admins see their team's keys and the shared ones (which only superusers manage, in
/admin/); members and viewers get 403, strangers 404. Secrets go in and are never
shown again: only `sk-evo-…` and the last 4 characters.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from playground import catalogue, csvsafe
from playground.audit.log import diff, record
from playground.audit.models import Action
from playground.billing import contract_checks, paying, tasks
from playground.billing.forms import TeamKeyForm
from playground.billing.models import ApiKey
from playground.evolink.contract import CHEAPEST_ESTIMATE
from playground.generations import budgets, spend
from playground.generations.usage import CSV_COLUMNS, Month, csv_rows, jobs_of
from playground.generations.usage import report as usage_report
from playground.teams import access, availability
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership, Team

PAGE = "billing/keys.html"


def _admin(request: AuthedRequest, team: str) -> Membership:
    membership = access.membership(request, team)
    access.require_admin(membership)
    return membership


def _page(
    request: AuthedRequest,
    membership: Membership,
    form: TeamKeyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    keys = list(ApiKey.objects.for_team_admins(membership.team))
    return render(
        request,
        PAGE,
        {
            "team": membership.team,
            "own_keys": [k for k in keys if k.team_id],
            "shared_keys": [k for k in keys if not k.team_id],
            "shared_key_pays": any(not k.team_id and k.enabled for k in keys),
            # EVOLINK_API_KEY pays after every key listed: named, as a key of the list.
            "fallback_key": paying.fallback_name(),
            "upstream": paying.describe_upstream(),  # the simulator bills nothing: said beside it
            "listed_keys": bool(keys),
            "form": form or TeamKeyForm(initial={"priority": 10}),
            "checking": any(_checking(k) for k in keys),
            # The contract check is for superusers only (see contract_views.py).
            "contract_estimate": CHEAPEST_ESTIMATE,
            "contract_checks": (
                contract_checks.recent(membership.team) if request.user.is_superuser else []
            ),
            "model_rows": _model_rows(request, membership),
        },
        status=status,
    )


def _model_rows(request: AuthedRequest, membership: Membership) -> list[dict[str, Any]]:
    """Each model: offered on the site (a superuser's switch), and to this team."""
    team_offers = {spec.id for spec in availability.available_models(membership.team)}
    return [
        {
            "spec": spec,
            "site": availability.site_offers(spec.id),
            "team": spec.id in team_offers,
        }
        for spec in catalogue.MODELS.values()
    ]


@require_POST
def model_switch(request: AuthedRequest, team: str) -> HttpResponse:
    """A team admin switches a model off (or on) for the team; a superuser, with
    scope=site, for every team."""
    membership = _admin(request, team)
    model = request.POST.get("model", "")
    if model not in catalogue.MODELS:
        messages.error(request, _("Unknown model."))
        return redirect("keys", team=team)
    on = request.POST.get("on") == "1"
    label = catalogue.MODELS[model].label
    if request.POST.get("scope") == "site":
        if not request.user.is_superuser:
            raise PermissionDenied
        with transaction.atomic():
            before = availability.site_offers(model)
            availability.switch_for_site(model, on=on, by=request.user)
            # Every team's: the entry belongs to no team (superusers see it at /audit/).
            _switched(request, None, model, before, on, "site")
        done = (
            _("%(model)s is now offered to every team.")
            if on
            else _("%(model)s is now switched off for every team.")
        )
    else:
        with transaction.atomic():
            before = not membership.team.models_off.filter(model=model).exists()
            availability.switch_for_team(membership.team, model, on=on, by=request.user)
            _switched(request, membership.team, model, before, on, "team")
        done = (
            _("%(model)s is switched on for this team.")
            if on
            else _("%(model)s is switched off for this team.")
        )
    messages.success(request, done % {"model": label})
    return redirect(f"{reverse('keys', kwargs={'team': team})}#models")


def _switched(
    request: AuthedRequest, team: Team | None, model: str, before: bool, on: bool, scope: str
) -> None:
    if before != on:
        record(
            Action.MODEL_SWITCHED,
            team=team,
            actor=request.user,
            request=request,
            target=model,
            changes={"enabled": [before, on], "scope": [scope, scope]},
        )


def _key_state(key: ApiKey) -> dict[str, Any]:
    """What the audit log says of a key: never its secret, only its masked form."""
    return {
        "label": key.label,
        "key": key.masked,
        "priority": key.priority,
        "enabled": key.enabled,
        "low_balance_threshold": key.low_balance_threshold,
    }


def _checking(key: ApiKey) -> bool:
    requested = key.check_requested_at
    return requested is not None and (key.checked_at is None or key.checked_at < requested)


@require_GET
def keys(request: AuthedRequest, team: str) -> HttpResponse:
    return _page(request, _admin(request, team))


@sensitive_post_parameters("secret")
@require_POST
def key_add(request: AuthedRequest, team: str) -> HttpResponse:
    membership = _admin(request, team)
    form = TeamKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, membership, form, status=400)
    key = form.save(commit=False)
    key.team = membership.team
    key.created_by = request.user
    with transaction.atomic():
        key.save()
        record(
            Action.KEY_ADDED,
            team=membership.team,
            actor=request.user,
            request=request,
            target=key.label,
            changes=diff({}, _key_state(key)),
        )
    messages.success(
        request,
        _("Key “%(label)s” (%(masked)s) was added.") % {"label": key.label, "masked": key.masked},
    )
    return redirect("keys", team=team)


def _own_key(membership: Membership, key_id: int) -> ApiKey:
    # Shared keys are the site administrators': a team admin cannot change them here.
    return get_object_or_404(ApiKey, pk=key_id, team=membership.team)


@sensitive_post_parameters("secret")
@require_POST
def key_change(request: AuthedRequest, team: str, key_id: int) -> HttpResponse:
    """Rename, reorder, switch on or off, or replace the secret (never read it)."""
    membership = _admin(request, team)
    key = _own_key(membership, key_id)
    before = _key_state(key)
    form = TeamKeyForm(request.POST, instance=key)
    if not form.is_valid():
        return _invalid(request, team, form)
    with transaction.atomic():
        saved = form.save()
        _audit_key_change(request, membership.team, before, saved)
    messages.success(request, _("Key “%(label)s” was saved.") % {"label": key.label})
    return redirect("keys", team=team)


def _audit_key_change(
    request: AuthedRequest, team: Team, before: dict[str, Any], key: ApiKey
) -> None:
    """One entry per kind of change: a replaced secret, switched on or off, the rest."""
    changes = diff(before, _key_state(key))
    entries: list[tuple[Action, dict[str, list[Any]]]] = []
    if "key" in changes:
        entries.append((Action.KEY_REPLACED, {"key": changes.pop("key")}))
    if "enabled" in changes:
        switched = changes.pop("enabled")
        action = Action.KEY_ENABLED if switched[1] else Action.KEY_DISABLED
        entries.append((action, {"enabled": switched}))
    if changes:
        entries.append((Action.KEY_CHANGED, changes))
    for action, fields in entries:
        record(
            action, team=team, actor=request.user, request=request, target=key.label, changes=fields
        )


def _invalid(request: AuthedRequest, team: str, form: TeamKeyForm) -> HttpResponse:
    problems = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    messages.error(request, _("Not saved: %(problems)s") % {"problems": problems})
    return redirect("keys", team=team)


@require_POST
def key_check(request: AuthedRequest, team: str, key_id: int) -> HttpResponse:
    """Ask a worker to read the key's credits; the page shows them when they arrive."""
    membership = _admin(request, team)
    key = _own_key(membership, key_id)
    with transaction.atomic():
        tasks.request_check(key, timezone.now())
        record(
            Action.KEY_CHECKED,
            team=membership.team,
            actor=request.user,
            request=request,
            target=key.label,
        )
    return redirect("keys", team=team)


# --- Usage ------------------------------------------------------------------------------


def _usage_access(request: AuthedRequest, slug: str) -> tuple[Team, Membership | None, bool]:
    """The team, the person's membership, and whether they see the whole team's spend:
    team admins and superusers (every team) do; members and viewers see their own."""
    if request.user.is_superuser:
        team = get_object_or_404(Team, slug=slug)
        found = Membership.objects.filter(user_id=request.user.pk, team=team).first()
        if found:
            access.membership(request, slug)
        return team, found, True
    membership = access.membership(request, slug)
    return membership.team, membership, membership.is_admin


@require_GET
def usage(request: AuthedRequest, team: str) -> HttpResponse:
    team_obj, membership, whole_team = _usage_access(request, team)
    month = Month.parse(request.GET.get("month"))
    context: dict[str, Any] = {
        "team": team_obj,
        "month": month,
        "whole_team": whole_team,
        "budget": budgets.standing(team_obj) if month.key == Month.parse(None).key else None,
    }
    if whole_team:
        context["report"] = usage_report(team_obj, month)
    if membership:
        own = jobs_of(team_obj, month, request.user).aggregate(total=Sum(spend.counted()))
        context["mine"] = own["total"] or Decimal(0)
        cap = membership.monthly_cap_credits
        context["my_cap"] = cap
        context["my_left"] = None if cap is None else max(cap - context["mine"], Decimal(0))
    return render(request, "billing/usage.html", context)


@require_GET
def usage_csv(request: AuthedRequest, team: str) -> StreamingHttpResponse:
    """The jobs behind the usage page, one row each (admins and superusers)."""
    team_obj, _membership, whole_team = _usage_access(request, team)
    if not whole_team:
        raise PermissionDenied
    month = Month.parse(request.GET.get("month"))
    writer = csvsafe.writer(_Echo())  # no cell a spreadsheet would run
    rows = itertools.chain([CSV_COLUMNS], csv_rows(team_obj, month, request.user))
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{team_obj.slug}-usage-{month.key}.csv"'
    )
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value
