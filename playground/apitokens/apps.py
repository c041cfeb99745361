from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "playground.apitokens"
    label = "apitokens"
    verbose_name = "API tokens"

    def ready(self) -> None:
        # Removing a member revokes their tokens in that team (teams sits below this
        # app and knows nothing of tokens, so the membership's deletion is heard here).
        from playground.apitokens import signals  # noqa: F401
