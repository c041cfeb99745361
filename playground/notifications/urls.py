"""Routes of this app, included at the root by playground/urls.py: a person's
notifications are theirs, across all their teams."""

from django.urls import path

from playground import ids  # noqa: F401  (registers `<id:…>`: in range, else 404)
from playground.notifications import views

patterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notification_read_all, name="notifications_read_all"),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
    path("notifications/<id:notification_id>/", views.notification_open, name="notification_open"),
    path(
        "notifications/<id:notification_id>/read/",
        views.notification_read,
        name="notification_read",
    ),
]
