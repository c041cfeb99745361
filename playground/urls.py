"""Every route. A team's pages live under /t/<team>/; a job is reached by its public id
from anywhere (its team follows from the job); EvoLink's endpoints need no login.

tests/test_access.py enumerates these patterns: a new view needs its access test.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog

from playground import ids  # noqa: F401  (registers `<id:…>`: in range, else 404)
from playground.alerts import urls as alert_urls
from playground.api import urls as api_urls
from playground.apitokens import urls as apitoken_urls
from playground.audit import urls as audit_urls
from playground.billing import contract_views
from playground.billing import views as billing_views
from playground.comments import urls as comment_urls
from playground.exports import urls as export_urls
from playground.gallery import urls as gallery_urls
from playground.generations import views as upstream_views
from playground.matrix import urls as matrix_urls
from playground.notifications import urls as notification_urls
from playground.reviews import urls as review_urls
from playground.sharing import urls as sharing_urls
from playground.sso import urls as sso_urls
from playground.sso import views as sso_views
from playground.studio import job_views, views
from playground.teams import accounts
from playground.teams import views as team_views

team_patterns: list[URLPattern | URLResolver] = [
    path("", views.studio, name="studio"),
    path("history/", views.history, name="history"),
    path("history/layout/", views.history_layout, name="history_layout"),
    path("waiting/cancel/", job_views.waiting_cancel, name="waiting_cancel"),
    path("references/", views.reference_upload, name="reference_upload"),
    path("masks/", views.mask_upload, name="mask_upload"),
    path("members/", team_views.team_page, name="team"),
    path("usage/", billing_views.usage, name="usage"),
    path("usage.csv", billing_views.usage_csv, name="usage_csv"),
    path("keys/", billing_views.keys, name="keys"),
    path("keys/add/", billing_views.key_add, name="key_add"),
    path("keys/models/", billing_views.model_switch, name="model_switch"),
    path("keys/<id:key_id>/", billing_views.key_change, name="key_change"),
    path("keys/<id:key_id>/check/", billing_views.key_check, name="key_check"),
    path(
        "keys/<id:key_id>/contract/",
        contract_views.contract_check_start,
        name="contract_check_start",
    ),
    path("keys/contract/<id:check_id>/", contract_views.contract_check, name="contract_check"),
    path("members/add/", team_views.member_add, name="member_add"),
    path("budget/", team_views.team_budget, name="team_budget"),
    path("limits/", team_views.team_limits, name="team_limits"),
    path("members/<id:member_id>/role/", team_views.member_role, name="member_role"),
    path("members/<id:member_id>/remove/", team_views.member_remove, name="member_remove"),
    path("invitations/", team_views.invitation_create, name="invitation_create"),
    path(
        "invitations/<id:invitation_id>/revoke/",
        team_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("", include(gallery_urls.team_patterns)),
    path("", include(matrix_urls.team_patterns)),
    path("", include(export_urls.team_patterns)),
    path("", include(audit_urls.team_patterns)),
    path("", include(comment_urls.team_patterns)),
    path("", include(review_urls.team_patterns)),
    path("", include(sharing_urls.team_patterns)),
    path("", include(alert_urls.team_patterns)),
    path("", include(apitoken_urls.team_patterns)),
]

job_patterns = [
    path("", job_views.generation_detail, name="generation_detail"),
    path("check-again/", job_views.generation_check_again, name="generation_check_again"),
    path("resubmit/", job_views.generation_resubmit, name="generation_resubmit"),
    path("delete/", job_views.generation_delete, name="generation_delete"),
    path("cancel/", job_views.generation_cancel, name="generation_cancel"),
    path("images.zip", job_views.generation_download_all, name="generation_download_all"),
    path("visibility/", job_views.generation_visibility, name="generation_visibility"),
    path("images/<id:index>", job_views.result_image, name="result_image"),
    path("mask.png", job_views.generation_mask, name="generation_mask"),
    path("images/<id:index>/thumbnail", job_views.result_thumbnail, name="result_thumbnail"),
    path(
        "images/<id:index>/use-as-reference",
        job_views.reference_from_result,
        name="reference_from_result",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("t/<slug:team>/", include(team_patterns)),
    path("generations/<uuid:public_id>/", include(job_patterns)),
    path("studio/live/", views.live, name="live"),
    path("", include(gallery_urls.patterns)),
    path("", include(matrix_urls.patterns)),
    path("", include(export_urls.patterns)),
    path("", include(audit_urls.patterns)),
    path("", include(notification_urls.patterns)),
    path("", include(comment_urls.patterns)),
    path("", include(review_urls.patterns)),
    path("", include(sharing_urls.patterns)),
    path(
        "references/<str:token>/thumbnail",
        job_views.reference_thumbnail,
        name="reference_thumbnail",
    ),
    path("references/<str:token>/image", job_views.reference_image, name="reference_image"),
    path("invite/<str:token>/", team_views.invitation, name="invitation"),
    path("invitations/", team_views.my_invitations, name="my_invitations"),
    path(
        "invitations/<id:invitation_id>/accept/",
        team_views.invitation_accept,
        name="invitation_accept",
    ),
    path(
        "invitations/<id:invitation_id>/decline/",
        team_views.invitation_decline,
        name="invitation_decline",
    ),
    path("language/", team_views.language, name="language"),
    # The scripts' messages in the page's language (domain djangojs, from LOCALE_PATHS):
    # a plain script from 'self', so the strict CSP holds. Every page loads it, the
    # login page too, at an address per language and catalogue version
    # (lib/context_processors.py), so the browser keeps it for a day.
    path(
        "jsi18n/",
        login_not_required(
            cache_control(private=True, max_age=86400)(
                JavaScriptCatalog.as_view(
                    packages=[
                        app for app in settings.INSTALLED_APPS if app.startswith("playground.")
                    ]
                )
            )
        ),
        name="javascript_catalog",
    ),
    # Public, for EvoLink: the signed token or the HMAC in the URL is the only key.
    path("r/<str:token>.<str:ext>", upstream_views.reference_public, name="reference_public"),
    path("m/<str:token>.png", upstream_views.mask_public, name="mask_public"),
    path(
        "hooks/evolink/<uuid:public_id>/<str:token>",
        upstream_views.evolink_callback,
        name="evolink_callback",
    ),
    path("login/", sso_views.sign_in, name="login"),
    path("", include(sso_urls)),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # People change their own password, and reset a forgotten one by e-mail.
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password-reset/",
        login_not_required(accounts.ThrottledPasswordResetView.as_view()),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        login_not_required(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        login_not_required(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        login_not_required(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    # The images API for scripts (a personal token is the key; playground/api/).
    path("v1/", include(api_urls.patterns)),
    path("healthz", upstream_views.health, name="health"),
    path("admin/", admin.site.urls),
]
