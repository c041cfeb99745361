from django.apps import AppConfig


class StudioConfig(AppConfig):
    """The pages people work in: the studio, the history and a job's page."""

    name = "playground.studio"
    label = "studio"
    verbose_name = "Studio"
