"""record(): the one way anything is written to the audit log.

Call it inside the change's own transaction (`with transaction.atomic(): change;
record(...)`), so a change that fails leaves no entry and an entry never describes a
change that did not happen.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from axes.helpers import get_client_ip_address
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from playground.audit.models import Action, AuditEntry
from playground.teams.models import Team

# A field whose name holds one of these is never stored with its values: the entry
# says it changed ("[hidden]"), never what it was or became.
SECRET_WORDS = ("secret", "password", "token", "key_value", "api_key", "credential", "hash")
HIDDEN = "[hidden]"


def _safe(value: Any) -> Any:
    """A JSON-able value: Decimals, dates, model instances and the like as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_safe(item) for item in value]
    return str(value)


def _origin(value: Any) -> Any:
    """A URL's scheme and host only: a webhook's path or query is often its secret
    (Slack's /services/T…/B…/<token>)."""
    if not isinstance(value, str) or not value:
        return value
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.netloc else HIDDEN


def clean_changes(changes: dict[str, Any] | None) -> dict[str, list[Any]]:
    """{field: [before, after]} with secrets hidden and every value JSON-able."""
    cleaned: dict[str, list[Any]] = {}
    for field, pair in (changes or {}).items():
        before, after = pair
        name = field.lower()
        if any(word in name for word in SECRET_WORDS):
            before, after = (HIDDEN if before else before), (HIDDEN if after else after)
        elif name.endswith("url"):
            before, after = _origin(before), _origin(after)
        cleaned[str(field)] = [_safe(before), _safe(after)]
    return cleaned


def client_address(request: HttpRequest | None) -> str | None:
    """The address the request came from, as the login throttle (django-axes) reads
    it, so the log and the throttle name the same client; None if there is none or it
    is not an IP address."""
    if request is None:
        return None
    address = get_client_ip_address(request) or ""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def record(
    action: Action,
    *,
    team: Team | None,
    actor: User | AnonymousUser | None,
    request: HttpRequest | None = None,
    target: str = "",
    changes: dict[str, Any] | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Write one entry. `actor` None is the system (or an unknown name: give it as
    `actor_name`); `changes` is {field: [before, after]}."""
    person = actor if isinstance(actor, User) else None
    return AuditEntry.objects.create(
        team=team,
        actor=person,
        actor_name=(person.get_username() if person is not None else actor_name)[:150],
        action=action,
        target=target[:300],
        changes=clean_changes(changes),
        address=client_address(request),
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} of the fields whose value differs."""
    return {
        field: [before.get(field), after.get(field)]
        for field in after
        if before.get(field) != after.get(field)
    }
