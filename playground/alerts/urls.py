"""Routes of this app, included by playground/urls.py under /t/<team>/."""

from django.urls import path

from playground.alerts import views

team_patterns = [
    path("alerts/", views.alerts_page, name="alerts"),
    path("alerts/settings/", views.alerts_settings, name="alerts_settings"),
    path("alerts/secret/", views.alerts_secret, name="alerts_secret"),
]
