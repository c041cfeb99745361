from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "playground.notifications"
    label = "notifications"
    verbose_name = "Notifications"
