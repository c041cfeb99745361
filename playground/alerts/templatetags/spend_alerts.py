"""`{% spend_alerts %}`: the spend alerts' card on the team page (admins only), so that
the team page needs no knowledge of this app beyond one tag."""

from __future__ import annotations

from typing import Any

from django import template

from playground.alerts.forms import AlertSettingsForm
from playground.alerts.models import AlertSettings, SpendAlert

register = template.Library()

# The team page shows the latest few; the alerts page shows more.
ON_TEAM_PAGE = 5


@register.inclusion_tag("alerts/section.html", takes_context=True)
def spend_alerts(context: template.Context) -> dict[str, Any]:
    team = context["team"]
    found = AlertSettings.of(team)
    return {
        "team": team,
        "csrf_token": context.get("csrf_token"),
        "alerts_form": AlertSettingsForm(instance=found),
        "alert_settings": found,
        "alerts": SpendAlert.objects.history(team)[:ON_TEAM_PAGE],
        "on_team_page": True,
    }
