from django.apps import AppConfig


class CommentsConfig(AppConfig):
    name = "playground.comments"
    label = "comments"
    verbose_name = "Comments"
