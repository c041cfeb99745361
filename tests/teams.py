"""Helpers for the tests of team pages (test_teams.py, test_invitations.py,
test_team_home.py): reading a page, roles, invitation links.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from django.contrib.auth.models import User
from django.test import Client

from playground.teams.models import Membership, Role, Team
from tests.conftest import PASSWORD

MEMBERS = "/t/a/members/"
LAST_ADMIN = "A team needs at least one admin"
SPENT = "is no longer valid"


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.content.decode())


def role_of(user: User, team: Team) -> str:
    return Membership.objects.get(user=user, team=team).role


def membership_pk(user: User, team: Team) -> int:
    return Membership.objects.get(user=user, team=team).pk


def invite(client: Client, role: str = Role.MEMBER) -> str:
    """The link an admin of team A gets, as the page shows it (once)."""
    response = client.post("/t/a/invitations/", {"role": role})
    assert response.status_code == 200
    found = re.search(r'value="([^"]+)" data-testid="invitation-link"', response.content.decode())
    assert found, "the new invitation link is shown"
    return urlsplit(html.unescape(found.group(1))).path


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


def sign_up(client: Client, link: str, username: str = "newbie"):  # type: ignore[no-untyped-def]
    return client.post(link, {"username": username, "password1": PASSWORD, "password2": PASSWORD})


def admin_message_after(client: Client, response) -> str:  # type: ignore[no-untyped-def]
    """The page a redirect leads to, with the messages it carries."""
    assert response.status_code == 302
    return text(client.get(response["Location"]))
