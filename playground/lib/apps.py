from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "playground.lib"
    label = "lib"
    verbose_name = "Shared web plumbing"
