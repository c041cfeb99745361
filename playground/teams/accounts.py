"""Accounts: password reset throttled, usernames that cannot pass for someone else's.

Password reset (issue 19, finding 5): each request may send an e-mail, so requests are
counted per address and per client address in Django's cache (Redis when REDIS_URL is
set, so every process shares the count; local memory otherwise). Past either limit no
e-mail is sent, and the page answers exactly as when one is: whoever asks learns neither
whether the address has an account nor whether they were throttled.
"""

from __future__ import annotations

import hashlib

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect


def _counted(key: str, window: int) -> int:
    """This request counted under `key` for `window` seconds; the count so far."""
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this request starts a new window
        cache.set(key, 1, timeout=window)
        return 1


def reset_allowed(request: HttpRequest, email: str) -> bool:
    """Whether a reset e-mail for `email` may go out now (both counts always move, so a
    client trying many addresses is limited as well as one address from many clients)."""
    window = settings.PASSWORD_RESET_WINDOW_SECONDS
    address = hashlib.sha256(email.strip().casefold().encode()).hexdigest()
    client = get_client_ip_address(request) or "unknown"
    per_address = _counted(f"password-reset:address:{address}", window)
    per_client = _counted(f"password-reset:client:{client}", window)
    return (
        per_address <= settings.PASSWORD_RESET_PER_ADDRESS
        and per_client <= settings.PASSWORD_RESET_PER_CLIENT
    )


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form) -> HttpResponse:  # type: ignore[no-untyped-def]
        if reset_allowed(self.request, form.cleaned_data["email"]):
            return super().form_valid(form)
        # The same answer as when an e-mail went out.
        return HttpResponseRedirect(self.get_success_url())
