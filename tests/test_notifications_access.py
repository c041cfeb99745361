"""Who may reach the notification pages, for every persona (the route × persona table
of tests/test_access.py, which counts these cases among every URL's).

A person's notifications are theirs across all their teams: the list, the read-all and
the e-mail settings answer every signed-in person (each about themselves); one
notification, alice's, answers only alice and is a 404 for everyone else.
"""

from __future__ import annotations

import pytest

from playground.notifications.events import notify
from playground.notifications.models import Kind
from tests.fixtures_access import LOGIN, PERSONAS, Case, World, check_access

pytestmark = pytest.mark.django_db

SIGNED_IN = ("creator", "teammate", "viewer", "admin", "stranger")


def everyone_signed_in(status: int) -> dict[str, int | str]:
    return {**{p: status for p in SIGNED_IN}, "anonymous": LOGIN}


def only_alice(status: int) -> dict[str, int | str]:
    return {**{p: 404 for p in SIGNED_IN}, "creator": status, "anonymous": LOGIN}


def alices(w: World) -> int:
    """A mention of alice (the creator) by bob, on her shared job."""
    made = notify(
        w.users["creator"],
        Kind.MENTION,
        team=w.team,
        actor=w.users["teammate"],
        generation=w.job,
    )
    assert made is not None
    return made.pk


CASES: dict[str, list[Case]] = {
    "notifications": [Case("get", lambda w, p: "/notifications/", everyone_signed_in(200))],
    "notifications_read_all": [
        Case("post", lambda w, p: "/notifications/read/", everyone_signed_in(302))
    ],
    "notification_settings": [
        Case("get", lambda w, p: "/notifications/settings/", everyone_signed_in(200)),
        Case(
            "post",
            lambda w, p: "/notifications/settings/",
            everyone_signed_in(200),
            data=lambda w, p: {"email": ["mention"]},
        ),
    ],
    "notification_open": [
        Case("get", lambda w, p: f"/notifications/{alices(w)}/", only_alice(302))
    ],
    "notification_read": [
        Case("post", lambda w, p: f"/notifications/{alices(w)}/read/", only_alice(302))
    ],
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, cases in CASES.items() for i in range(len(cases))]
)
def test_access(world: World, name: str, index: int, persona: str) -> None:
    check_access(world, CASES[name][index], persona)
