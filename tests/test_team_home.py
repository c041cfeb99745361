"""Teams: home opens the current team, and the header names it and switches teams.

Personas (tests/conftest.py): team A (`/t/a/`) has alice and bob (members), vera (a
viewer) and ada (its admin); charlie is in team B only; anonymous is signed in nowhere.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.generations.models import State
from playground.teams.models import Membership, Profile, Role, Team
from tests.conftest import PASSWORD, logged_in, member
from tests.factories import make_generation
from tests.teams import membership_pk, text

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------------------------------
# Home and the current team
# ---------------------------------------------------------------------------------------


def test_home_opens_the_studio_of_the_first_team_by_default(
    alice_client: Client, alice: User
) -> None:
    response = alice_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/t/a/"


def test_home_falls_back_to_the_first_team_by_name(team_b: Team) -> None:
    zeta = Team.objects.create(name="Zeta", slug="zeta")
    person = member("pat", zeta)
    Membership.objects.create(user=person, team=team_b)
    response = logged_in(person).get("/")
    assert response["Location"] == "/t/b/"  # "Team B" before "Zeta"


def test_home_remembers_the_team_the_person_last_entered(
    charlie_client: Client, charlie: User, team_a: Team, team_b: Team
) -> None:
    Membership.objects.create(user=charlie, team=team_a)
    # With nothing remembered, the first team by name: Team A.
    assert charlie_client.get("/")["Location"] == "/t/a/"

    assert charlie_client.get("/t/b/").status_code == 200
    assert Profile.objects.get(user=charlie).current_team == team_b
    assert charlie_client.get("/")["Location"] == "/t/b/"

    assert charlie_client.get("/t/a/").status_code == 200
    assert Profile.objects.get(user=charlie).current_team == team_a
    assert charlie_client.get("/")["Location"] == "/t/a/"

    assert charlie_client.get("/t/b/members/").status_code == 200
    assert charlie_client.get("/")["Location"] == "/t/b/"


def test_home_remembers_across_sessions(charlie: User, team_a: Team, team_b: Team) -> None:
    Membership.objects.create(user=charlie, team=team_a)
    logged_in(charlie).get("/t/b/")
    assert logged_in(charlie).get("/")["Location"] == "/t/b/"


def test_home_forgets_a_team_the_person_was_removed_from(
    ada_client: Client, bob: User, bob_client: Client, team_a: Team, team_b: Team
) -> None:
    Membership.objects.create(user=bob, team=team_b)
    bob_client.get("/t/a/")
    assert bob_client.get("/")["Location"] == "/t/a/"
    ada_client.post(f"/t/a/members/{membership_pk(bob, team_a)}/remove/")
    assert bob_client.get("/")["Location"] == "/t/b/"


def test_a_stranger_visiting_a_team_does_not_make_it_their_current_team(
    charlie_client: Client, charlie: User, team_a: Team
) -> None:
    charlie_client.get("/t/b/")
    assert charlie_client.get("/t/a/").status_code == 404
    assert Profile.objects.get(user=charlie).current_team.slug == "b"
    assert charlie_client.get("/")["Location"] == "/t/b/"


def test_someone_in_no_team_is_told_so(team_a: Team) -> None:
    loner = User.objects.create_user("loner", password=PASSWORD)
    response = logged_in(loner).get("/")
    assert response.status_code == 200
    page = text(response)
    assert "You are not in a team yet" in page
    assert "loner" in page
    assert "/admin/teams/team/add/" not in page
    assert 'data-testid="team-switcher"' not in page


def test_someone_removed_from_their_only_team_is_told_they_have_none(
    ada_client: Client, bob: User, bob_client: Client, team_a: Team
) -> None:
    bob_client.get("/t/a/")
    ada_client.post(f"/t/a/members/{membership_pk(bob, team_a)}/remove/")
    response = bob_client.get("/")
    assert response.status_code == 200
    assert "You are not in a team yet" in text(response)


def test_a_superuser_in_no_team_is_offered_to_create_one(db: None) -> None:
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    response = logged_in(root).get("/")
    assert response.status_code == 200
    page = text(response)
    assert "You are not in a team yet" in page
    assert 'href="/admin/teams/team/add/"' in page


def test_home_asks_anonymous_visitors_to_log_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# ---------------------------------------------------------------------------------------
# The header: current team and switcher
# ---------------------------------------------------------------------------------------


def current_team_in(page: str) -> str:
    found = re.search(r'data-testid="current-team">([^<]*)<', page)
    assert found, "the header names the current team"
    return found.group(1).strip()


def switcher_in(page: str) -> str:
    return page.split('data-testid="team-switcher"', 1)[1].split("</details>", 1)[0]


def test_the_header_shows_the_team_a_page_belongs_to_and_all_the_persons_teams(
    charlie: User, team_a: Team, team_b: Team
) -> None:
    Membership.objects.create(user=charlie, team=team_a, role=Role.VIEWER)
    client = logged_in(charlie)

    page = text(client.get("/t/a/members/"))
    assert current_team_in(page) == "Team A"
    switcher = switcher_in(page)
    assert 'href="/t/a/"' in switcher and 'href="/t/b/"' in switcher
    assert "Team A" in switcher and "Team B" in switcher
    assert "Viewer" in switcher and "Member" in switcher
    assert re.search(r'href="/t/a/" aria-current="true"', switcher)
    assert not re.search(r'href="/t/b/" aria-current="true"', switcher)
    assert 'href="/t/a/members/"' in page

    page = text(client.get("/t/b/"))
    assert current_team_in(page) == "Team B"
    assert re.search(r'href="/t/b/" aria-current="true"', switcher_in(page))
    assert 'href="/t/b/members/"' in page


def test_the_switcher_lists_only_the_persons_own_teams(
    alice_client: Client, team_a: Team, team_b: Team
) -> None:
    switcher = switcher_in(text(alice_client.get("/t/a/")))
    assert 'href="/t/a/"' in switcher
    assert 'href="/t/b/"' not in switcher and "Team B" not in switcher


def test_a_job_page_shows_the_jobs_team_in_the_header(
    alice: User, alice_client: Client, team_a: Team, team_b: Team
) -> None:
    Membership.objects.create(user=alice, team=team_b)
    job = make_generation(alice, team=team_a, state=State.COMPLETED)
    alice_client.get("/t/b/")
    page = text(alice_client.get(f"/generations/{job.public_id}/"))
    assert current_team_in(page) == "Team A"


def test_pages_outside_a_team_show_no_current_team(alice_client: Client) -> None:
    page = text(alice_client.get("/t/a/"))
    assert current_team_in(page) == "Team A"
    response = alice_client.get("/invite/not-a-real-token/")
    assert current_team_in(text(response)) == "choose"
