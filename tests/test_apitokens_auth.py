"""authenticate(request): which tokens pass, why the others do not (OpenAI-style codes),
and the two throttles (per token; failed authentications per client address)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.utils import timezone

from playground.apitokens import auth
from playground.apitokens.models import ApiToken
from playground.teams.models import Membership

pytestmark = pytest.mark.django_db


def request_with(value: str | None, address: str = "10.0.0.1") -> auth.HttpRequest:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {value}"} if value is not None else {}
    return RequestFactory().get("/v1/models", REMOTE_ADDR=address, **headers)


def refused(value: str | None, address: str = "10.0.0.1") -> auth.AuthFailure:
    with pytest.raises(auth.AuthFailure) as failure:
        auth.authenticate(request_with(value, address))
    return failure.value


def issue(user: User, **extra: int) -> tuple[ApiToken, str]:
    return ApiToken.issue(Membership.objects.get(user=user), name="script", **extra)


def test_a_valid_token_acts_as_its_member(alice: User) -> None:
    token, value = issue(alice)
    caller = auth.authenticate(request_with(value))
    assert caller.token == token and caller.membership.user == alice
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_role_is_read_at_each_request(vera: User) -> None:
    _token, value = issue(vera)
    assert not auth.authenticate(request_with(value)).membership.can_generate
    Membership.objects.filter(user=vera).update(role="member")
    assert auth.authenticate(request_with(value)).membership.can_generate


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "missing_api_key"),
        ("", "missing_api_key"),
        ("sk-proj-abc", "invalid_api_key"),
        ("pgk_0123456789_nope", "invalid_api_key"),
    ],
)
def test_no_token_or_an_unknown_one_is_401(alice: User, value: str | None, code: str) -> None:
    failure = refused(value)
    assert (failure.status, failure.code, failure.type) == (401, code, "invalid_request_error")


def test_a_right_prefix_with_a_wrong_secret_is_refused(alice: User) -> None:
    _token, value = issue(alice)
    failure = refused(value[:-2] + "zz")
    assert failure.code == "invalid_api_key"
    assert value not in failure.message


def test_a_revoked_token_is_refused(alice: User) -> None:
    token, value = issue(alice)
    token.revoke(by=alice)
    failure = refused(value)
    assert (failure.status, failure.code) == (401, "revoked_api_key")
    assert token.shown in failure.message and value not in failure.message


def test_an_expired_token_is_refused(alice: User) -> None:
    token, value = issue(alice, days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    failure = refused(value)
    assert (failure.status, failure.code) == (401, "expired_api_key")
    assert "expired on" in failure.message


def test_a_deactivated_person_s_token_is_refused(alice: User) -> None:
    _token, value = issue(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert refused(value).code == "revoked_api_key"


def test_no_more_than_a_year(alice: User) -> None:
    with pytest.raises(ValueError):
        issue(alice, days=366)


def test_requests_per_token_are_throttled(alice: User, bob: User, settings: Any) -> None:
    settings.API_REQUESTS_PER_MINUTE = 3
    _token, value = issue(alice)
    _other, bobs = issue(bob)
    for _ in range(3):
        auth.authenticate(request_with(value))
    failure = refused(value)
    assert (failure.status, failure.code, failure.retry_after) == (
        429,
        "rate_limit_exceeded",
        60,
    )
    assert auth.authenticate(request_with(bobs)).membership.user == bob


def test_failed_authentications_are_throttled_per_address(alice: User, settings: Any) -> None:
    settings.API_AUTH_FAILURES_PER_ADDRESS = 3
    _token, value = issue(alice)
    for _ in range(3):
        assert refused("pgk_0123456789_guess").status == 401
    # Past the limit, even a valid token from that address waits the window out...
    failure = refused(value)
    assert (failure.status, failure.code) == (429, "too_many_failed_authentications")
    assert failure.retry_after == settings.API_AUTH_WINDOW_SECONDS
    # ...while another address is not held back.
    assert auth.authenticate(request_with(value, "10.0.0.2")).membership.user == alice


def test_successes_do_not_count_as_failures(alice: User, settings: Any) -> None:
    settings.API_AUTH_FAILURES_PER_ADDRESS = 2
    _token, value = issue(alice)
    for _ in range(5):
        auth.authenticate(request_with(value))
    assert refused("pgk_0123456789_guess").status == 401
