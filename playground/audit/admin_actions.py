"""What superusers change in /admin/, in the audit log too.

Django's admin writes a LogEntry for every addition, change and deletion it makes,
inside the same transaction as the change itself; its post_save is where the audit
entry is written, so the admin's views need no change and no admin action escapes the
log. The entry names the object (its text) and the fields that changed (the admin's
change message holds field names, never values, so a key's secret cannot be in it).
An object of a team (a team, a membership) goes to that team's log; anything else to
the superusers' log at /audit/.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_save

from playground.audit.log import record
from playground.audit.models import Action, AuditEntry
from playground.teams.models import Membership, Team

ACTIONS = {
    ADDITION: Action.ADMIN_ADDED,
    CHANGE: Action.ADMIN_CHANGED,
    DELETION: Action.ADMIN_DELETED,
}


def _team_of(entry: LogEntry) -> Team | None:
    if entry.action_flag == DELETION:
        return None  # the object is gone; its team may be too
    edited = entry.get_edited_object()
    if isinstance(edited, Team):
        return edited
    if isinstance(edited, Membership):
        return edited.team
    return None


def _fields(entry: LogEntry) -> list[str]:
    """The names of the fields the admin says it changed (never their values)."""
    try:
        messages = json.loads(entry.change_message or "[]")
    except ValueError:
        return []
    names: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        for detail in message.values() if isinstance(message, dict) else []:
            if isinstance(detail, dict):
                names.extend(str(name) for name in detail.get("fields", []))
    return names


def on_admin_log(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    action = ACTIONS.get(instance.action_flag)
    if not created or action is None or instance.content_type_id is None:
        return
    content_type = ContentType.objects.get_for_id(instance.content_type_id)
    if content_type.model_class() is AuditEntry:
        return  # the admin never changes entries; nothing to say about reading them
    kind = f"{content_type.app_label}.{content_type.model}"
    fields = _fields(instance)
    record(
        action,
        team=_team_of(instance),
        actor=User.objects.filter(pk=instance.user_id).first(),
        target=f"{kind} “{instance.object_repr}”",
        changes={"fields": [None, ", ".join(fields)]} if fields else None,
    )


def connect() -> None:
    post_save.connect(on_admin_log, sender=LogEntry, dispatch_uid="audit_admin_log")
