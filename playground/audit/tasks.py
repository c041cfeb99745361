"""The retention purge, run hourly by django-q2 (declared in AuditConfig.ready)."""

from __future__ import annotations

from playground.audit.models import AuditEntry


def purge_expired() -> int:
    """Delete the entries older than AUDIT_RETENTION_DAYS; how many went."""
    return AuditEntry.objects.purge_expired()
