"""Routes of this app, included by playground/urls.py: `team_patterns` under /t/<team>/,
`patterns` at the root (threads reached by their job or image, comments by their id)."""

from django.urls import path

from playground import ids  # noqa: F401  (registers `<id:…>`: in range, else 404)
from playground.comments import views

team_patterns = [
    path("comments/people/", views.mention_candidates, name="mention_candidates"),
]
patterns = [
    path("generations/<uuid:public_id>/comments/", views.job_comments, name="job_comments"),
    path("images/<id:image_id>/comments/", views.image_comments, name="image_comments"),
    path("comments/live/", views.comments_live, name="comments_live"),
    path("comments/<id:comment_id>/", views.comment_show, name="comment_show"),
    path("comments/<id:comment_id>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<id:comment_id>/delete/", views.comment_delete, name="comment_delete"),
]
