"""A collection's name, checked the same way wherever one is typed: the list page's
"New collection", a rename, and "New collection…" of the multi-select bar and the
lightbox's picker."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from playground.gallery.models import Collection
from playground.numbers import grouped
from playground.teams.models import Team

NAME_MAX = Collection.NAME_MAX


def name_problem(team: Team, name: str, instance: Collection | None = None) -> str:
    """What is wrong with this name for a collection of `team`, or "" if nothing.

    Names differing only in case count as the same: "Portraits" and "portraits" side
    by side in the picker would be a trap."""
    if not name:
        return _("Name the collection.")
    if len(name) > NAME_MAX:
        return _("A collection's name has at most %(max)d characters (this one has %(n)s).") % {
            "max": NAME_MAX,
            "n": grouped(len(name)),
        }
    taken = Collection.objects.filter(team=team, name__iexact=name)
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if taken.exists():
        return _("The team already has a collection called “%(name)s”: choose another name.") % {
            "name": name
        }
    return ""


class CollectionNameForm(forms.Form):
    # No max_length here: name_problem says it with the count, and the input keeps
    # what was typed (a browser's maxlength would silently cut a pasted name).
    name = forms.CharField(label=gettext_lazy("Name"), required=False, strip=True)

    def __init__(self, *args: Any, team: Team, instance: Collection | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.team = team
        self.instance = instance

    def clean_name(self) -> str:
        name = self.cleaned_data.get("name", "")
        problem = name_problem(self.team, name, self.instance)
        if problem:
            raise forms.ValidationError(problem)
        return name
