"""The login page (password form and "Sign in with …"), and the two ends of a sign-in
through the provider: the start, which sends the browser to the provider with a fresh
state, nonce and PKCE challenge, and the callback it comes back to.

The two ends are mozilla-django-oidc's views, given the discovered endpoints; every
refusal comes back to the login page with a message saying why, and is a failed
sign-in for the audit log (django's user_login_failed).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from playground.sso import config, discovery
from playground.sso.backends import SignInRefused

SCOPES = ("openid", "email", "profile")


class SignInView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sso_enabled"] = config.enabled()
        context["sso_provider"] = config.provider_name()
        context["password_login"] = config.password_login_enabled()
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not config.password_login_enabled():
            # The form is not shown; a scripted POST gets the page again, saying why.
            messages.error(
                request,
                _("Password sign-in is switched off here: sign in with %(provider)s.")
                % {"provider": config.provider_name()},
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().post(request, *args, **kwargs)


def _scopes(attr: str, *default: Any) -> Any:
    """The library's settings, with the scopes asked for: ours, and the provider's
    "groups" scope when it has one (Okta and the test provider send the groups claim
    only for it; Entra and Keycloak send it anyway)."""
    if attr == "OIDC_RP_SCOPES":
        offered = discovery.provider().scopes_supported
        return " ".join([*SCOPES, *(["groups"] if "groups" in offered else [])])
    return import_from_settings(attr, *default)


class _Start(OIDCAuthenticationRequestView):
    get_settings = staticmethod(_scopes)

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # the endpoints come from discovery, in get()

    def get(self, request: HttpRequest) -> HttpResponse:
        if not config.enabled():
            raise Http404
        try:
            provider = discovery.provider()
        except discovery.DiscoveryError as error:
            return refused(request, str(error))
        self.OIDC_OP_AUTH_ENDPOINT = provider.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        response: HttpResponse = super().get(request)
        return response


class _Callback(OIDCAuthenticationCallbackView):
    def get(self, request: HttpRequest) -> HttpResponse:
        if not config.enabled():
            raise Http404
        if request.GET.get("error"):
            return self.provider_said_no(request)
        try:
            response: HttpResponse = super().get(request)
        except SignInRefused as refusal:
            return refused(request, refusal.message, refusal.username)
        except SuspiciousOperation:  # a state this browser never started, or used twice
            return refused(request, not_started_here())
        return response

    def provider_said_no(self, request: HttpRequest) -> HttpResponse:
        """The provider sent the browser back with an error (the person cancelled, or
        may not use this client). Unlike the library, never sign anyone out here: a
        link from anywhere would otherwise end a session."""
        states = request.session.get("oidc_states") or {}
        if request.GET.get("state") not in states:
            return refused(request, not_started_here())
        del states[request.GET["state"]]  # used once, like a successful one
        request.session.modified = True
        return refused(
            request,
            _("%(provider)s did not sign you in (%(error)s).")
            % {"provider": config.provider_name(), "error": request.GET["error"][:100]},
        )

    def login_failure(self) -> HttpResponse:
        return refused(self.request, not_started_here())


def not_started_here() -> str:
    return _(
        "This sign-in was not started in this browser, or it was already used or has "
        "expired. Please sign in again."
    )


def refused(request: HttpRequest, message: str, username: str = "") -> HttpResponse:
    """Back to the login page, saying why; a failed sign-in for the audit log."""
    user_login_failed.send(
        sender=__name__, credentials={"username": username, "method": "sso"}, request=request
    )
    messages.error(request, message)
    next_url = request.session.get("oidc_login_next")
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return HttpResponseRedirect(reverse("login") + query)


sign_in = SignInView.as_view()
start = login_not_required(_Start.as_view())
callback = login_not_required(_Callback.as_view())
