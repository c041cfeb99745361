from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "playground.exports"
    label = "exports"
    verbose_name = "ZIP exports"
