from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "playground.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from playground.generations.signals import job_finished
        from playground.lib import schedules
        from playground.notifications import emails, receivers

        job_finished.connect(receivers.on_job_finished, dispatch_uid="notifications-job-finished")
        # At most one e-mail per person per emails.EMAIL_INTERVAL: checked every minute.
        schedules.declare(
            schedules.Periodic(
                "playground-notification-emails", emails.send_due, schedules.MINUTES, 1
            )
        )
