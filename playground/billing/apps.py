from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "playground.billing"
    label = "billing"
    verbose_name = "Billing"
