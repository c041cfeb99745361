from django.apps import AppConfig


class EvoLinkConfig(AppConfig):
    """No models: an app only so that `manage.py simulate_evolink` is found."""

    name = "playground.evolink"
    label = "evolink"
    verbose_name = "EvoLink"
