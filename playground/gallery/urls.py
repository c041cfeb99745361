"""Routes of this app, included by playground/urls.py: `team_patterns` under /t/<team>/,
`patterns` at the root (things reached by their own id, whose team follows from them)."""

from django.urls import path

from playground import ids  # noqa: F401  (registers `<id:…>`: in range, else 404)
from playground.gallery import compare, views

team_patterns = [
    path("collections/", views.collection_list, name="collections"),
    path("collections/add/", views.collection_add, name="collection_add"),
    path("collections/<id:collection_id>/", views.collection_detail, name="collection"),
    path(
        "collections/<id:collection_id>/rename/",
        views.collection_rename,
        name="collection_rename",
    ),
    path(
        "collections/<id:collection_id>/delete/",
        views.collection_delete,
        name="collection_delete",
    ),
    path(
        "collections/<id:collection_id>/remove/",
        views.collection_remove,
        name="collection_remove",
    ),
    path("collections/<id:collection_id>/cover/", views.collection_cover, name="collection_cover"),
]
patterns = [
    path("compare/", compare.compare, name="compare"),
    path("images/<id:image_id>/favourite/", views.favourite_toggle, name="favourite_toggle"),
]
