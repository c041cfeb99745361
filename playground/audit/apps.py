from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "playground.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from playground.audit import admin_actions, signins, tasks
        from playground.lib import schedules

        # Sign-ins are recorded from django's own auth signals, so every way in (the
        # password form, the admin's login, single sign-on) is covered without the
        # login views knowing about the audit log.
        signins.connect()
        # What superusers change in /admin/, from the admin's own LogEntry.
        admin_actions.connect()
        # Entries past AUDIT_RETENTION_DAYS go, hourly.
        schedules.declare(
            schedules.Periodic("playground-audit-retention", tasks.purge_expired, schedules.HOURLY)
        )
