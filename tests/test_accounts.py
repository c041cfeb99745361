"""People change their own password and reset a forgotten one by e-mail."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
NEW = "a brand new passphrase 42"


def test_a_person_changes_their_password_and_other_sessions_end(
    alice: User, alice_client: Client
) -> None:
    elsewhere = Client()
    elsewhere.post("/login/", {"username": "alice", "password": PASSWORD})
    assert elsewhere.get("/t/a/").status_code == 200

    wrong = alice_client.post(
        "/account/password/",
        {"old_password": "nope", "new_password1": NEW, "new_password2": NEW},
    )
    assert wrong.status_code == 200 and "old password was entered incorrectly" in (
        wrong.content.decode()
    )
    done = alice_client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    assert "Your password was changed" in done.content.decode()
    assert alice_client.get("/t/a/").status_code == 200  # this session stays
    assert elsewhere.get("/t/a/").status_code == 302  # the other one ended
    assert User.objects.get(username="alice").check_password(NEW)


def test_a_forgotten_password_is_reset_by_an_emailed_link(alice: User, client: Client) -> None:
    response = client.post("/password-reset/", {"email": "alice@example.com"}, follow=True)
    assert "Check your e-mail" in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert User.objects.get(username="alice").check_password(NEW)
    # The link works once.
    again = client.get(link.group(1), follow=True)
    assert "This link no longer works" in again.content.decode()


def test_an_unknown_address_sends_nothing_and_says_the_same(client: Client) -> None:
    response = client.post("/password-reset/", {"email": "nobody@example.com"}, follow=True)
    assert "Check your e-mail" in response.content.decode() and mail.outbox == []


def test_the_login_page_offers_the_reset(client: Client) -> None:
    assert 'href="/password-reset/"' in client.get("/login/").content.decode()


# --- Issue 19, finding 5: password reset is throttled ---------------------------------


def _ask_reset(email: str, client_address: str = "198.51.100.7") -> tuple[int, str]:
    response = Client(REMOTE_ADDR=client_address).post("/password-reset/", {"email": email})
    return response.status_code, response["Location"]


def test_repeated_resets_for_one_address_send_at_most_the_limit(
    alice: User,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.PASSWORD_RESET_PER_ADDRESS = 3
    # From several client addresses: the limit is the address's own.
    answers = {_ask_reset("alice@example.com", f"198.51.100.{i}") for i in range(8)}
    assert len(mail.outbox) == 3
    # The same answer every time, throttled or not, account or not.
    answers.add(_ask_reset("nobody@example.com"))
    assert answers == {(302, "/password-reset/sent/")}


def test_one_client_asking_for_many_addresses_is_throttled(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.PASSWORD_RESET_PER_CLIENT = 4
    for i in range(10):
        User.objects.create_user(f"user{i}", f"user{i}@example.com", PASSWORD)
    answers = {_ask_reset(f"user{i}@example.com") for i in range(10)}
    assert len(mail.outbox) == 4 and answers == {(302, "/password-reset/sent/")}
    # Another client is not held back by the first one's count.
    _ask_reset("user9@example.com", "203.0.113.9")
    assert len(mail.outbox) == 5


def test_the_count_is_per_address_whatever_its_case(
    alice: User,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.PASSWORD_RESET_PER_ADDRESS = 1
    _ask_reset("alice@example.com")
    _ask_reset("ALICE@example.com", "203.0.113.1")
    assert len(mail.outbox) == 1
