"""Routes of this app, included by playground/urls.py: `team_patterns` under /t/<team>/,
`patterns` at the root (things reached by their own id, whose team follows from them)."""

from django.urls import path

from playground.exports import views

team_patterns = [
    path("exports/", views.export_create, name="export_create"),
]
patterns = [
    path("exports/<uuid:public_id>/", views.export_detail, name="export_detail"),
    path("exports/<uuid:public_id>/download", views.export_download, name="export_download"),
    path("exports/<uuid:public_id>/retry", views.export_retry, name="export_retry"),
]
