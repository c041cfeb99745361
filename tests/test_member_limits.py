"""A team admin sets the two per-member limits on the team page (jobs in flight, images
per hour); empty is no limit; a wrong number is refused with one plain sentence."""

from __future__ import annotations

import pytest
from django.test import Client

from playground.teams.models import Team

pytestmark = pytest.mark.django_db

URL = "/t/a/limits/"


def limits(team: Team) -> tuple[int | None, int | None]:
    team.refresh_from_db()
    return team.member_jobs_in_flight_limit, team.member_images_per_hour_limit


def test_an_admin_sets_and_clears_the_limits(ada_client: Client, team_a: Team) -> None:
    page = ada_client.get("/t/a/members/").content.decode()
    assert 'data-testid="member-limits"' in page and 'placeholder="no limit"' in page
    response = ada_client.post(
        URL,
        {"member_jobs_in_flight_limit": "20", "member_images_per_hour_limit": "200"},
        follow=True,
    )
    assert "The per-member limits were saved." in response.content.decode()
    assert limits(team_a) == (20, 200)
    assert 'value="20"' in ada_client.get("/t/a/members/").content.decode()
    # Empty fields: no limit.
    ada_client.post(URL, {"member_jobs_in_flight_limit": "", "member_images_per_hour_limit": ""})
    assert limits(team_a) == (None, None)


@pytest.mark.parametrize("value", ["0", "-3", "2.5", "many", "100001"])
def test_a_wrong_limit_is_refused_saying_why(ada_client: Client, team_a: Team, value: str) -> None:
    response = ada_client.post(
        URL, {"member_jobs_in_flight_limit": "5", "member_images_per_hour_limit": value}
    )
    assert response.status_code == 400
    assert (
        "A limit is a whole number from 1 to 100000; leave it empty for no limit."
        in response.content.decode()
    )
    assert limits(team_a) == (None, None)  # nothing saved, the valid field neither


def test_only_admins_see_or_set_the_limits(alice_client: Client, team_a: Team) -> None:
    assert 'data-testid="member-limits"' not in alice_client.get("/t/a/members/").content.decode()
    assert alice_client.post(URL, {"member_jobs_in_flight_limit": "1"}).status_code == 403
    assert limits(team_a) == (None, None)
