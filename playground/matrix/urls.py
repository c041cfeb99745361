"""Routes of this app, included by playground/urls.py: `team_patterns` under /t/<team>/,
`patterns` at the root (things reached by their own id, whose team follows from them)."""

from django.urls import path

from playground import ids  # noqa: F401  (registers `<id:…>`: in range, else 404)
from playground.matrix import views

team_patterns = [
    path("matrix/", views.matrix, name="matrix"),
    path("runs/<uuid:public_id>/", views.run_page, name="matrix_run"),
    path("runs/<uuid:public_id>/keep/", views.run_keep, name="matrix_run_keep"),
    path("runs/<uuid:public_id>/cancel/", views.run_cancel, name="matrix_run_cancel"),
    path("templates/", views.template_save, name="template_save"),
    path("templates/<id:template_id>/delete/", views.template_delete, name="template_delete"),
]
patterns: list = []
