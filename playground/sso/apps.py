from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "playground.sso"
    label = "sso"
    verbose_name = "Single sign-on"

    def ready(self) -> None:
        # Registers the checks of the OIDC_* settings (a bad OIDC_GROUP_TEAMS is an error
        # at start-up, not a surprise at someone's first sign-in).
        from playground.sso import checks  # noqa: F401
