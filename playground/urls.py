from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from playground.studio import views

urlpatterns = [
    path("", views.studio, name="studio"),
    path("studio/live/", views.live, name="live"),
    path("studio/history/", views.history, name="history"),
    path("generations/<uuid:public_id>/", views.generation_detail, name="generation_detail"),
    path(
        "generations/<uuid:public_id>/check-again/",
        views.generation_check_again,
        name="generation_check_again",
    ),
    path(
        "generations/<uuid:public_id>/resubmit/",
        views.generation_resubmit,
        name="generation_resubmit",
    ),
    path(
        "generations/<uuid:public_id>/images/<int:index>",
        views.result_image,
        name="result_image",
    ),
    path(
        "generations/<uuid:public_id>/images/<int:index>/thumbnail",
        views.result_thumbnail,
        name="result_thumbnail",
    ),
    path(
        "generations/<uuid:public_id>/images/<int:index>/use-as-reference",
        views.reference_from_result,
        name="reference_from_result",
    ),
    path("references/", views.reference_upload, name="reference_upload"),
    path("references/<str:token>/thumbnail", views.reference_thumbnail, name="reference_thumbnail"),
    # Public, for EvoLink: the signed token is the only key.
    path("r/<str:token>.<str:ext>", views.reference_public, name="reference_public"),
    path(
        "hooks/evolink/<uuid:public_id>/<str:token>",
        views.evolink_callback,
        name="evolink_callback",
    ),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.health, name="health"),
    path("admin/", admin.site.urls),
]
