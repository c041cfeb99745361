from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "playground.sharing"
    label = "sharing"
    verbose_name = "Share links"
