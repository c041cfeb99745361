"""Routes of the images API, included by playground/urls.py under /v1/."""

from django.urls import path

from playground.api import views

patterns = [
    path("images/generations", views.generations, name="api_generations"),
    path("images/edits", views.edits, name="api_edits"),
    path("images/files/<str:token>", views.image, name="api_image"),
    path("jobs", views.jobs, name="api_jobs"),
    path("jobs/<uuid:public_id>", views.job, name="api_job"),
    path("models", views.models, name="api_models"),
    path("openapi.json", views.openapi_json, name="api_openapi"),
]
