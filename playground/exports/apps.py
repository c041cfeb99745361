from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "playground.exports"
    label = "exports"
    verbose_name = "ZIP exports"

    def ready(self) -> None:
        from playground.exports import tasks
        from playground.lib import schedules

        # Lost queue messages, dead builders, and ZIPs past their keeping time.
        schedules.declare(
            schedules.Periodic("playground-exports", tasks.maintain, schedules.MINUTES, 1)
        )
