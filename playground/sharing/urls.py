"""Routes of this app, included by playground/urls.py: `team_patterns` under /t/<team>/,
`patterns` at the root (the public pages, /s/<token>/…)."""

from django.urls import path

from playground.sharing import public_views, views

team_patterns = [
    path("share-links/", views.share_links, name="share_links"),
    path("share-links/new/", views.share_link_new, name="share_link_new"),
    path("share-links/create/", views.share_link_create, name="share_link_create"),
    path("share-links/<id:link_id>/", views.share_link, name="share_link"),
    path("share-links/<id:link_id>/revoke/", views.share_link_revoke, name="share_link_revoke"),
]
patterns = [
    path("s/<str:token>/", public_views.shared_page, name="shared_page"),
    path("s/<str:token>/images.zip", public_views.shared_zip, name="shared_zip"),
    path("s/<str:token>/images/<id:position>", public_views.shared_image, name="shared_image"),
    path(
        "s/<str:token>/images/<id:position>/download",
        public_views.shared_download,
        name="shared_download",
    ),
]
