from django.urls import path

from playground.sso import views

urlpatterns = [
    path("sso/start/", views.start, name="sso_start"),
    path("sso/callback/", views.callback, name="sso_callback"),
]
