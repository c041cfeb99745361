"""Personal API tokens: the API tokens page, revoking (by the member, a team admin, the
member's removal, /admin/), `manage.py create_api_token`, and the value never kept:
not in a later page, not in the database, not in a log line.

Personas (tests/conftest.py): alice and bob are members of team A, vera its viewer, ada
its admin; charlie is in team B only.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone

from playground.apitokens import auth
from playground.apitokens.models import ApiToken
from playground.audit.models import Action, AuditEntry
from playground.teams.models import Membership, Team
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

PAGE = "/t/a/tokens/"
VALUE = re.compile(r"pgk_[0-9a-f]{10}_[A-Za-z0-9_-]{40,}")


def make_on_page(client: Client, name: str = "renamer", days: str = "90", **extra: str) -> str:
    response = client.post(f"{PAGE}add/", {"name": name, "days": days, **extra})
    assert response.status_code == 200
    found = VALUE.findall(response.content.decode())
    assert len(found) == 1, "the value shows exactly once, in the read-only field"
    return found[0]


def authenticated(value: str) -> auth.Caller:
    request = RequestFactory().get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {value}")
    return auth.authenticate(request)


def membership_of(user: User) -> Membership:
    return Membership.objects.select_related("team", "user").get(user=user)


def test_a_member_makes_a_token_shown_once(alice_client: Client, alice: User) -> None:
    value = make_on_page(alice_client, only_me_default="on")
    token = ApiToken.objects.get()
    assert (token.user, token.team.slug, token.name) == (alice, "a", "renamer")
    assert token.only_me_default
    assert timedelta(days=89, hours=23) < token.expires_at - timezone.now() <= timedelta(days=90)
    assert value.startswith(token.shown.rstrip("…"))
    page = alice_client.get(PAGE).content.decode()
    assert value not in page and token.shown in page
    assert authenticated(value).token == token
    entry = AuditEntry.objects.get(action=Action.TOKEN_CREATED)
    assert (entry.actor, entry.team) == (alice, token.team)
    assert token.prefix in entry.target and value not in str(entry.changes)


def test_the_header_links_to_the_page(vera_client: Client) -> None:
    assert f'href="{PAGE}"' in vera_client.get("/t/a/members/").content.decode()


def test_a_viewer_makes_one_too(vera_client: Client, vera: User) -> None:
    make_on_page(vera_client)
    assert ApiToken.objects.get().user == vera


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("366", "at most 365 days"),
        ("0", "at least 1 day"),
        ("soon", "whole number of days"),
    ],
)
def test_a_bad_expiry_says_why_and_keeps_the_name(
    alice_client: Client, days: str, message: str
) -> None:
    response = alice_client.post(f"{PAGE}add/", {"name": "batch", "days": days})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'value="batch"' in page
    assert not ApiToken.objects.exists()


def test_a_name_is_needed(alice_client: Client) -> None:
    response = alice_client.post(f"{PAGE}add/", {"name": " ", "days": "9"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_a_member_sees_and_revokes_only_their_own(
    alice_client: Client, bob_client: Client, alice: User, bob: User
) -> None:
    make_on_page(alice_client, name="alice-script")
    make_on_page(bob_client, name="bob-script")
    page = alice_client.get(PAGE).content.decode()
    assert "alice-script" in page and "bob-script" not in page
    bobs = ApiToken.objects.get(user=bob)
    assert alice_client.post(f"{PAGE}{bobs.pk}/revoke/").status_code == 404
    bobs.refresh_from_db()
    assert bobs.revoked_at is None
    alices = ApiToken.objects.get(user=alice)
    assert alice_client.post(f"{PAGE}{alices.pk}/revoke/").status_code == 302
    alices.refresh_from_db()
    assert alices.revoked_at is not None and alices.revoked_by == alice


def test_an_admin_sees_and_revokes_every_token_never_a_value(
    alice_client: Client, ada_client: Client, ada: User
) -> None:
    value = make_on_page(alice_client, name="alice-script")
    page = ada_client.get(PAGE).content.decode()
    assert "alice-script" in page and "alice" in page
    assert value not in page
    token = ApiToken.objects.get()
    response = ada_client.post(f"{PAGE}{token.pk}/revoke/", follow=True)
    assert "was revoked" in response.content.decode()
    with pytest.raises(auth.AuthFailure) as refused:
        authenticated(value)
    assert refused.value.code == "revoked_api_key"
    entry = AuditEntry.objects.get(action=Action.TOKEN_REVOKED)
    assert entry.actor == ada and "alice-script" in entry.target


def test_a_stranger_gets_404(charlie_client: Client, alice_client: Client) -> None:
    make_on_page(alice_client)
    token = ApiToken.objects.get()
    assert charlie_client.get(PAGE).status_code == 404
    assert charlie_client.post(f"{PAGE}{token.pk}/revoke/").status_code == 404


def test_removing_a_member_revokes_their_tokens_of_that_team(
    alice_client: Client, ada_client: Client, alice: User, team_b: Team
) -> None:
    value = make_on_page(alice_client)
    Membership.objects.create(user=alice, team=team_b)
    other_team, other_value = ApiToken.issue(
        Membership.objects.get(user=alice, team=team_b), name="b"
    )
    membership = Membership.objects.get(user=alice, team__slug="a")
    assert ada_client.post(f"/t/a/members/{membership.pk}/remove/").status_code == 302
    token = ApiToken.objects.get(team__slug="a")
    assert token.revoked_at is not None
    with pytest.raises(auth.AuthFailure):
        authenticated(value)
    assert authenticated(other_value).token == other_team
    entry = AuditEntry.objects.get(action=Action.TOKEN_REVOKED)
    assert entry.actor is None and "member removed" in str(entry.changes)


def test_deleting_a_team_deletes_its_tokens(alice_client: Client, team_a: Team) -> None:
    make_on_page(alice_client)
    team_a.delete()
    assert not ApiToken.objects.exists()


def test_a_superuser_revokes_in_the_admin(alice_client: Client) -> None:
    value = make_on_page(alice_client)
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    token = ApiToken.objects.get()
    admin = logged_in(root)
    listing = admin.get("/admin/apitokens/apitoken/").content.decode()
    assert token.shown in listing and value not in listing
    assert value not in admin.get(f"/admin/apitokens/apitoken/{token.pk}/change/").content.decode()
    response = admin.post(
        "/admin/apitokens/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == root


def test_the_command_prints_the_token_on_its_last_line_only(alice: User) -> None:
    out = io.StringIO()
    call_command(
        "create_api_token", "alice", "--team", "a", "--name", "ci", "--days", "7", stdout=out
    )
    lines = out.getvalue().splitlines()
    assert VALUE.fullmatch(lines[-1])
    assert all(lines[-1] not in line for line in lines[:-1])
    token = ApiToken.objects.get()
    assert token.name == "ci" and token.user == alice
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)
    assert authenticated(lines[-1]).membership == membership_of(alice)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["charlie", "--team", "a", "--name", "x"], "not an active member"),
        (["alice", "--team", "a", "--name", "x", "--days", "400"], "--days must be"),
        (["alice", "--team", "nope", "--name", "x"], "not an active member"),
    ],
)
def test_the_command_refuses_clearly(
    alice: User, charlie: User, arguments: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", *arguments, stdout=io.StringIO())
    assert not ApiToken.objects.exists()


def test_the_value_is_never_in_the_database_nor_a_log_line(
    alice_client: Client, ada_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    value = make_on_page(alice_client)
    out = io.StringIO()
    call_command("create_api_token", "alice", "--team", "a", "--name", "ci", stdout=out)
    command_value = out.getvalue().splitlines()[-1]
    for used in (value, command_value):
        authenticated(used)
        with pytest.raises(auth.AuthFailure):
            authenticated(used + "x")
    for token in ApiToken.objects.all():
        ada_client.post(f"{PAGE}{token.pk}/revoke/")
    # pgk_<hex prefix>_<secret>: the secret itself may contain "_" (URL-safe base64).
    secrets = [v.split("_", 2)[2] for v in (value, command_value)]
    for secret in secrets:
        assert secret not in caplog.text
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (our own table names)
            dump = repr(cursor.fetchall())
            for secret in secrets:
                assert secret not in dump, table
