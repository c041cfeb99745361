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
