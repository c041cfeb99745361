"""Which entries an audit page shows: the filters (person, action, dates, and for
superusers the team), checked like any form, and the CSV rows of the same selection.

Filters live in the URL (GET), so a filtered view can be linked and downloaded as
CSV. A bad date is said beside its field and the other filters still apply; what the
person typed stays in the form.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from playground.audit.models import Action, AuditEntryQuerySet
from playground.teams.models import Team

CSV_COLUMNS = ["when", "team", "person", "action", "target", "changes", "address"]


class AuditFilterForm(forms.Form):
    person = forms.CharField(label=_("Person"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("Any action")), *Action.choices]
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, people: list[str], teams: list[Team] | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.people = people
        # Only on the superusers' page: one team, or every team (and the entries of none).
        if teams is not None:
            self.fields["team"] = forms.ChoiceField(
                label=_("Team"),
                required=False,
                choices=[("", _("Every team")), *((team.slug, team.name) for team in teams)],
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("“To” is before “From”: choose a later day."))
        return cleaned

    def apply(self, entries: AuditEntryQuerySet) -> AuditEntryQuerySet:
        """The entries the valid filters select; a filter with an error is not applied
        (the page says which), the others are."""
        # A field with an error is absent from cleaned_data.
        data = self.cleaned_data
        if person := (data.get("person") or "").strip():
            entries = entries.filter(actor_name__iexact=person)
        if action := data.get("action"):
            entries = entries.filter(action=action)
        if since := data.get("since"):
            entries = entries.filter(created_at__gte=_start_of(since))
        if until := data.get("until"):
            entries = entries.filter(created_at__lt=_start_of(until + timedelta(days=1)))
        if team := data.get("team"):
            entries = entries.filter(team__slug=team)
        return entries


def _start_of(day: Any) -> datetime:
    """Midnight of `day` in the site's time zone (the dates people type are local)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def people_of(entries: AuditEntryQuerySet) -> list[str]:
    """The names that appear in these entries, for the person filter's suggestions."""
    return sorted(
        set(entries.exclude(actor_name="").values_list("actor_name", flat=True).distinct()),
        key=str.lower,
    )


def csv_rows(entries: AuditEntryQuerySet) -> Iterator[list[Any]]:
    """One row per entry, newest first (machine values: the action's code, the changes
    as JSON, the time in ISO 8601 with its offset)."""
    yield CSV_COLUMNS
    for entry in entries.select_related("team").iterator(chunk_size=2000):
        yield [
            entry.created_at.isoformat(),
            entry.team.slug if entry.team else "",
            entry.actor_name,
            entry.action,
            entry.target,
            json.dumps(entry.changes, ensure_ascii=False, sort_keys=True),
            entry.address or "",
        ]


def filter_form(
    data: Any, base: AuditEntryQuerySet, *, teams: list[Team] | None
) -> tuple[AuditFilterForm, AuditEntryQuerySet]:
    """The bound filter form and the entries it selects from `base`."""
    form = AuditFilterForm(data or None, people=people_of(base), teams=teams)
    if not form.is_bound:
        return form, base
    form.is_valid()
    return form, form.apply(base)
