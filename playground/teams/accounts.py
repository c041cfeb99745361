"""Accounts: password reset throttled, usernames that cannot pass for someone else's.

Password reset (issue 19, finding 5): each request may send an e-mail, so requests are
counted per address and per client address in Django's cache (Redis when REDIS_URL is
set, so every process shares the count; local memory otherwise). Past either limit no
e-mail is sent, and the page answers exactly as when one is: whoever asks learns neither
whether the address has an account nor whether they were throttled.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import unicodedata

from axes.helpers import get_client_ip_address
from django import forms
from django.conf import settings
from django.contrib.auth import forms as admin_forms
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm, UserChangeForm, UserCreationForm
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _


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
    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if reset_allowed(self.request, form.cleaned_data["email"]):
            return super().form_valid(form)
        # The same answer as when an e-mail went out.
        return HttpResponseRedirect(self.get_success_url())


# --- Look-alike usernames (issue 19, finding 6) -----------------------------------------
# `d\u0435mo` (with a Cyrillic e) must not join next to `demo`. Each name is compared by its
# skeleton, after UTS #39: NFKC-normalised, then every character replaced by one
# representative of the characters Unicode lists as confusable with it (the
# confusables data shipped by the `confusable-homoglyphs` package). Two names with the
# same skeleton, or equal but for case, are one name to a reader.

# Multi-letter look-alikes in plain ASCII (UTS #39 maps m → rn and so on); the data's
# own multi-character entries are left out, as it does not say which side is which.
_ASCII_SEQUENCES = (("rn", "m"), ("vv", "w"), ("cl", "d"))


@functools.cache
def _representatives() -> dict[str, str]:
    """Each character → the smallest character of its confusable class."""
    data = json.loads(
        importlib.resources.files("confusable_homoglyphs")
        .joinpath("confusables.json")
        .read_text(encoding="utf-8")
    )
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        while parent.get(char, char) != char:
            parent[char] = parent.get(parent[char], parent[char])
            char = parent[char]
        return char

    for char, homoglyphs in data.items():
        for entry in homoglyphs:
            other = entry["c"].strip("\u200e\u200f")  # the data wraps RTL letters in marks
            if len(char) == 1 and len(other) == 1:
                a, b = find(char), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return {char: find(char) for char in parent}


def skeleton(name: str) -> str:
    """What a name looks like: equal skeletons are names a reader cannot tell apart."""
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", name))
    # Invisible format characters (zero-width joiners, direction marks) show nothing.
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    representatives = _representatives()
    text = "".join(representatives.get(c, c) for c in text)
    for sequence, single in _ASCII_SEQUENCES:
        text = text.replace(representatives.get(sequence[0], sequence[0]) + sequence[1:], single)
    return unicodedata.normalize("NFD", text)


def _keys(name: str) -> set[str]:
    folded = unicodedata.normalize("NFKC", name).casefold()
    return {skeleton(name), skeleton(folded), folded}


def username_problem(name: str, exclude_pk: int | None = None) -> str:
    """Why `name` cannot be a new username (it passes for an existing one), or ""."""
    wanted = _keys(name)
    others = get_user_model().objects.all()
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    for existing in others.values_list("username", flat=True).iterator():
        if wanted & _keys(existing):
            return _(
                "This username looks too much like one already in use (letters from "
                "another alphabet, or a different case, read the same). Choose another."
            )
    return ""


def look_alike_checked(name: str, instance: User) -> str:
    """A user form's username, refused if it could pass for anyone else's (`instance` is
    the account the form makes or changes: its own name never counts against it)."""
    if not name:
        return name  # Django's own check already said what is wrong
    problem = username_problem(name, exclude_pk=instance.pk)
    if problem:
        raise forms.ValidationError(problem, code="confusable")
    return name


class SignUpForm(UserCreationForm):
    """The invitation page's "Create my account"."""

    def clean_username(self) -> str:
        return look_alike_checked(super().clean_username(), self.instance)


class AdminUserCreationForm(admin_forms.AdminUserCreationForm):
    def clean_username(self) -> str:
        return look_alike_checked(super().clean_username(), self.instance)


class AdminUserChangeForm(UserChangeForm):
    def clean_username(self) -> str:
        return look_alike_checked(self.cleaned_data.get("username") or "", self.instance)
