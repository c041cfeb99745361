"""Routes of this app, included by playground/urls.py: `team_patterns` under /t/<team>/,
`patterns` at the root (an image is reached by its id; its team follows from it)."""

from django.urls import path

from playground import ids  # noqa: F401  (registers `<id:…>`: in range, else 404)
from playground.reviews import views

team_patterns = [
    path("review/", views.review_queue, name="review_queue"),
]
patterns = [
    path("images/<id:image_id>/review/request/", views.review_request, name="review_request"),
    path("images/<id:image_id>/review/decide/", views.review_decide, name="review_decide"),
]
