from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "playground.alerts"
    verbose_name = "Spend alerts"

    def ready(self) -> None:
        from playground.alerts import crossings, receivers, tasks
        from playground.billing import signals as billing_signals
        from playground.generations import signals as generation_signals
        from playground.lib import schedules

        # generations and billing sit below this app and may not import it: they send
        # signals, and this app listens.
        generation_signals.spend_recorded.connect(
            receivers.on_spend_recorded, dispatch_uid="alerts-spend"
        )
        billing_signals.credits_recorded.connect(
            receivers.on_credits_recorded, dispatch_uid="alerts-credits"
        )
        billing_signals.key_disabled.connect(
            receivers.on_key_disabled, dispatch_uid="alerts-key-disabled"
        )
        schedules.declare(
            # Retries (with their backoff) and any first attempt whose task was lost.
            schedules.Periodic(
                "playground-alerts-deliver", tasks.deliver_due, schedules.MINUTES, 1
            ),
            # Crossings whose signal was lost with a worker.
            schedules.Periodic("playground-alerts-sweep", crossings.sweep, schedules.MINUTES, 15),
        )
