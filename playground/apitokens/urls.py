"""Routes of this app, included by playground/urls.py under /t/<team>/."""

from django.urls import path

from playground import ids  # noqa: F401  (registers `<id:…>`: in range, else 404)
from playground.apitokens import views

team_patterns = [
    path("tokens/", views.tokens, name="api_tokens"),
    path("tokens/add/", views.token_create, name="api_token_create"),
    path("tokens/<id:token_id>/revoke/", views.token_revoke, name="api_token_revoke"),
]
