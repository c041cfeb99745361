"""Teams: the members page, adding people, roles and removal, and the Django admin.

Invitation links are in test_invitations.py, home and the current team in
test_team_home.py. Personas (tests/conftest.py): team A (`/t/a/`) has alice and bob
(members), vera (a viewer) and ada (its admin); charlie is in team B only; anonymous
is signed in nowhere.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.generations.models import Generation, State
from playground.sso.models import MappedMembership
from playground.teams.models import Invitation, Membership, Role, Team
from tests.conftest import PASSWORD, logged_in, member
from tests.factories import make_generation
from tests.teams import LAST_ADMIN, MEMBERS, admin_message_after, membership_pk, role_of, text

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------------------------------
# The members page
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice_client", "vera_client", "ada_client"])
def test_every_member_of_the_team_sees_who_is_in_it(
    persona: str, request: pytest.FixtureRequest, alice: User, bob: User, vera: User, ada: User
) -> None:
    client: Client = request.getfixturevalue(persona)
    response = client.get(MEMBERS)
    assert response.status_code == 200
    page = text(response)
    assert 'data-testid="members"' in page
    for user in (alice, bob, vera, ada):
        assert f'id="member-{membership_pk(user, user.memberships.get().team)}"' in page
        assert user.username in page
    assert 'Members of <span translate="no">Team A</span>' in page


def test_a_member_sees_roles_but_no_management_controls(
    alice_client: Client, bob: User, vera: User, ada: User
) -> None:
    page = text(alice_client.get(MEMBERS))
    assert "Viewer" in page and "Admin" in page
    assert '<select name="role"' not in page
    assert "/t/a/invitations/" not in page
    assert "/t/a/members/add/" not in page
    assert "/remove/" not in page
    assert "/role/" not in page


def test_a_viewer_sees_no_management_controls(vera_client: Client, ada: User) -> None:
    page = text(vera_client.get(MEMBERS))
    assert '<select name="role"' not in page
    assert "/t/a/invitations/" not in page
    assert "/t/a/members/add/" not in page


def test_an_admin_sees_role_selects_removal_and_the_invitation_form(
    ada_client: Client, ada: User, bob: User, team_a: Team
) -> None:
    page = text(ada_client.get(MEMBERS))
    bob_pk = membership_pk(bob, team_a)
    assert f'action="/t/a/members/{bob_pk}/role/"' in page
    assert f'id="role-{bob_pk}"' in page
    assert f'action="/t/a/members/{bob_pk}/remove/"' in page
    assert 'action="/t/a/invitations/"' in page
    assert 'action="/t/a/members/add/"' in page
    # Each select starts at the person's current role.
    bob_row = page.split(f'id="member-{bob_pk}"', 1)[1].split("</tr>", 1)[0]
    assert '<option value="member" selected>' in bob_row
    ada_row = page.split(f'id="member-{membership_pk(ada, team_a)}"', 1)[1].split("</tr>", 1)[0]
    assert '<option value="admin" selected>' in ada_row
    # The last admin is not offered to leave (the server would refuse it anyway).
    assert "Leave the team" not in ada_row and "The last admin" in ada_row


def test_a_role_set_by_the_providers_groups_says_so_on_its_row(
    ada_client: Client, ada: User, bob: User, team_a: Team
) -> None:
    MappedMembership.objects.create(membership=Membership.objects.get(user=bob, team=team_a))
    page = text(ada_client.get(MEMBERS))

    def row(person: User) -> str:
        return page.split(f'id="member-{membership_pk(person, team_a)}"', 1)[1].split("</tr>")[0]

    assert "Set by the provider's groups at each sign-in" in row(bob)
    assert 'data-testid="role-by-groups"' not in row(ada)


def test_a_stranger_gets_404_for_the_members_page(charlie_client: Client, team_a: Team) -> None:
    assert charlie_client.get(MEMBERS).status_code == 404


def test_a_team_that_does_not_exist_is_404_too(alice_client: Client) -> None:
    assert alice_client.get("/t/nope/members/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client: Client, team_a: Team) -> None:
    response = client.get(MEMBERS)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert "next=/t/a/members/" in response["Location"]


# ---------------------------------------------------------------------------------------
# Adding people who have an account
# ---------------------------------------------------------------------------------------


def test_an_admin_invites_an_existing_user_who_joins_only_on_accepting(
    ada_client: Client, charlie: User, team_a: Team, team_b: Team
) -> None:
    """Issue 19, finding 4: adding by username is an invitation the person accepts."""
    response = ada_client.post("/t/a/members/add/", {"username": "charlie", "role": "viewer"})
    assert response.status_code == 302 and response["Location"] == MEMBERS
    page = admin_message_after(ada_client, response)
    assert "Invitation sent to “charlie” as Viewer." in page
    assert 'For “<span translate="no">charlie</span>” as Viewer' in page
    # Not in the team yet: team A is still 404 for charlie.
    assert not Membership.objects.filter(user=charlie, team=team_a).exists()
    charlie_client = logged_in(charlie)
    assert charlie_client.get("/t/a/").status_code == 404
    # charlie sees it when signing in (the home page goes to the invitations first),
    # and the header counts it on every page.
    assert charlie_client.get("/")["Location"] == "/invitations/"
    listing = text(charlie_client.get("/invitations/"))
    assert "Team A" in listing and 'data-testid="invitations-link"' in listing
    invitation = Invitation.objects.get(invitee=charlie)
    accepted = charlie_client.post(f"/invitations/{invitation.pk}/accept/")
    assert accepted["Location"] == "/t/a/"
    assert role_of(charlie, team_a) == Role.VIEWER
    assert role_of(charlie, team_b) == Role.MEMBER  # keeps their other team
    assert charlie_client.get("/t/a/").status_code == 200
    # Used: no second accept, and the header no longer counts it.
    assert charlie_client.post(f"/invitations/{invitation.pk}/accept/").status_code == 404
    assert 'data-testid="invitations-link"' not in text(charlie_client.get("/invitations/"))


def test_an_invited_person_may_decline(ada_client: Client, charlie: User, team_a: Team) -> None:
    ada_client.post("/t/a/members/add/", {"username": "charlie", "role": "member"})
    invitation = Invitation.objects.get(invitee=charlie)
    charlie_client = logged_in(charlie)
    response = charlie_client.post(f"/invitations/{invitation.pk}/decline/")
    assert response["Location"] == "/invitations/"
    assert not Membership.objects.filter(user=charlie, team=team_a).exists()
    assert charlie_client.post(f"/invitations/{invitation.pk}/accept/").status_code == 404
    assert ">charlie</span>” as" not in text(ada_client.get(MEMBERS))


def test_nobody_else_can_accept_or_decline_an_invitation_addressed_to_someone(
    ada_client: Client, charlie: User, bob_client: Client, team_a: Team
) -> None:
    ada_client.post("/t/a/members/add/", {"username": "charlie", "role": "admin"})
    invitation = Invitation.objects.get(invitee=charlie)
    outsider = logged_in(User.objects.create_user("eve", password=PASSWORD))
    for client in (outsider, bob_client, ada_client):
        assert client.post(f"/invitations/{invitation.pk}/accept/").status_code == 404
        assert client.post(f"/invitations/{invitation.pk}/decline/").status_code == 404
    assert not Membership.objects.filter(user__username="eve").exists()
    # Nor is it a link: its token was never shown, and links never find it.
    assert Invitation.find("anything") is None


@pytest.mark.parametrize("name", ["zed", "gone", "charlie"])
def test_the_answer_is_the_same_whether_or_not_the_username_exists(
    ada_client: Client, charlie: User, team_a: Team, name: str
) -> None:
    """An unknown name, an inactive account and a real person get one answer, so the
    form does not tell which usernames exist."""
    User.objects.create_user("gone", password=PASSWORD, is_active=False)
    response = ada_client.post("/t/a/members/add/", {"username": name, "role": "member"})
    assert response.status_code == 302 and response["Location"] == MEMBERS
    page = admin_message_after(ada_client, response)
    said = re.sub(name, "NAME", page.split('class="messages"', 1)[1].split("</ul>", 1)[0])
    assert "Invitation sent to “NAME” as Member." in said
    assert f'For “<span translate="no">{name}</span>” as Member' in page
    assert Membership.objects.filter(team=team_a).count() == 1  # ada only
    invitation = Invitation.objects.get(invitee_name=name)
    assert invitation.invitee == (charlie if name == "charlie" else None)


def test_inviting_the_same_name_again_renews_the_one_invitation(
    ada_client: Client, charlie: User
) -> None:
    ada_client.post("/t/a/members/add/", {"username": "charlie", "role": "member"})
    ada_client.post("/t/a/members/add/", {"username": "charlie", "role": "viewer"})
    assert Invitation.objects.get(invitee=charlie).role == Role.VIEWER


def test_adding_someone_already_in_the_team_says_so_and_keeps_their_role(
    ada_client: Client, vera: User, team_a: Team
) -> None:
    response = ada_client.post("/t/a/members/add/", {"username": "vera", "role": "admin"})
    assert response.status_code == 400
    assert "vera is already in this team." in text(response)
    assert role_of(vera, team_a) == Role.VIEWER
    assert Membership.objects.filter(user=vera).count() == 1


def test_adding_with_a_role_that_does_not_exist_is_refused(
    ada_client: Client, charlie: User, team_a: Team
) -> None:
    response = ada_client.post("/t/a/members/add/", {"username": "charlie", "role": "owner"})
    assert response.status_code == 400
    assert not Membership.objects.filter(user=charlie, team=team_a).exists()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [("alice_client", 403), ("vera_client", 403)])
def test_only_admins_add_members(
    persona: str, status: int, request: pytest.FixtureRequest, team_a: Team, team_b: Team
) -> None:
    outsider = member("dora", team_b)
    client: Client = request.getfixturevalue(persona)
    response = client.post("/t/a/members/add/", {"username": "dora", "role": "admin"})
    assert response.status_code == status
    assert not Membership.objects.filter(user=outsider, team=team_a).exists()
    assert not Invitation.objects.exists()


def test_a_stranger_adding_to_another_team_gets_404(
    charlie_client: Client, charlie: User, team_a: Team, ada: User
) -> None:
    response = charlie_client.post("/t/a/members/add/", {"username": "charlie", "role": "admin"})
    assert response.status_code == 404
    assert not Membership.objects.filter(user=charlie, team=team_a).exists()


# ---------------------------------------------------------------------------------------
# Roles and removal
# ---------------------------------------------------------------------------------------


def test_an_admin_changes_a_role(ada_client: Client, bob: User, team_a: Team) -> None:
    url = f"/t/a/members/{membership_pk(bob, team_a)}/role/"
    response = ada_client.post(url, {"role": "viewer"})
    assert role_of(bob, team_a) == Role.VIEWER
    assert "bob is now Viewer." in admin_message_after(ada_client, response)
    # The new role applies at once: bob can no longer generate.
    assert logged_in(bob).post("/t/a/", {"prompt": "a fox"}).status_code == 403


def test_an_admin_can_make_someone_else_an_admin(
    ada_client: Client, bob: User, team_a: Team
) -> None:
    ada_client.post(f"/t/a/members/{membership_pk(bob, team_a)}/role/", {"role": "admin"})
    assert role_of(bob, team_a) == Role.ADMIN
    assert logged_in(bob).get(MEMBERS).content.decode().count('<select name="role"') >= 2


def test_a_role_that_does_not_exist_changes_nothing(
    ada_client: Client, bob: User, team_a: Team
) -> None:
    response = ada_client.post(f"/t/a/members/{membership_pk(bob, team_a)}/role/", {"role": "god"})
    assert role_of(bob, team_a) == Role.MEMBER
    assert "Choose a role" in admin_message_after(ada_client, response)


def test_the_last_admin_cannot_be_demoted(ada_client: Client, ada: User, team_a: Team) -> None:
    response = ada_client.post(
        f"/t/a/members/{membership_pk(ada, team_a)}/role/", {"role": "viewer"}
    )
    assert LAST_ADMIN in admin_message_after(ada_client, response)
    assert role_of(ada, team_a) == Role.ADMIN


def test_the_last_admin_cannot_be_removed(ada_client: Client, ada: User, team_a: Team) -> None:
    response = ada_client.post(f"/t/a/members/{membership_pk(ada, team_a)}/remove/")
    assert LAST_ADMIN in admin_message_after(ada_client, response)
    assert role_of(ada, team_a) == Role.ADMIN


def test_an_admin_may_step_down_once_there_is_another_admin(
    ada_client: Client, ada: User, bob: User, team_a: Team
) -> None:
    Membership.objects.filter(user=bob, team=team_a).update(role=Role.ADMIN)
    ada_client.post(f"/t/a/members/{membership_pk(ada, team_a)}/role/", {"role": "member"})
    assert role_of(ada, team_a) == Role.MEMBER
    # Now bob is the last admin, and ada no longer manages anything.
    assert (
        ada_client.post(
            f"/t/a/members/{membership_pk(bob, team_a)}/role/", {"role": "member"}
        ).status_code
        == 403
    )
    assert role_of(bob, team_a) == Role.ADMIN


def test_an_admin_leaving_the_team_goes_home(
    ada_client: Client, ada: User, bob: User, team_a: Team
) -> None:
    Membership.objects.filter(user=bob, team=team_a).update(role=Role.ADMIN)
    response = ada_client.post(f"/t/a/members/{membership_pk(ada, team_a)}/remove/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert not Membership.objects.filter(user=ada, team=team_a).exists()
    assert ada_client.get("/t/a/").status_code == 404


def test_removing_a_member_keeps_their_jobs_in_the_team(
    ada_client: Client, alice_client: Client, bob: User, team_a: Team
) -> None:
    job = make_generation(bob, prompt="bob's lighthouse", state=State.COMPLETED)
    assert job.team == team_a
    bob_client = logged_in(bob)
    assert bob_client.get(f"/generations/{job.public_id}/").status_code == 200

    response = ada_client.post(f"/t/a/members/{membership_pk(bob, team_a)}/remove/")
    assert "bob was removed from the team." in admin_message_after(ada_client, response)
    assert not Membership.objects.filter(user=bob, team=team_a).exists()

    job.refresh_from_db()
    assert job.team_id == team_a.pk and job.owner_id == bob.pk
    assert "bob's lighthouse" in text(alice_client.get("/t/a/history/"))
    assert alice_client.get(f"/generations/{job.public_id}/").status_code == 200
    # bob is now a stranger to team A and its jobs, even his own.
    assert bob_client.get("/t/a/").status_code == 404
    assert bob_client.get(MEMBERS).status_code == 404
    assert bob_client.get(f"/generations/{job.public_id}/").status_code == 404
    assert Generation.objects.filter(pk=job.pk).exists()


@pytest.mark.parametrize("persona", ["alice_client", "vera_client"])
def test_only_admins_change_roles_or_remove_people(
    persona: str, request: pytest.FixtureRequest, bob: User, team_a: Team
) -> None:
    client: Client = request.getfixturevalue(persona)
    pk = membership_pk(bob, team_a)
    assert client.post(f"/t/a/members/{pk}/role/", {"role": "admin"}).status_code == 403
    assert client.post(f"/t/a/members/{pk}/remove/").status_code == 403
    assert role_of(bob, team_a) == Role.MEMBER


def test_a_stranger_changing_roles_or_removing_people_gets_404(
    charlie_client: Client, bob: User, team_a: Team
) -> None:
    pk = membership_pk(bob, team_a)
    assert charlie_client.post(f"/t/a/members/{pk}/role/", {"role": "viewer"}).status_code == 404
    assert charlie_client.post(f"/t/a/members/{pk}/remove/").status_code == 404
    assert role_of(bob, team_a) == Role.MEMBER


def test_an_admin_cannot_reach_another_teams_members_through_their_own_team(
    ada_client: Client, charlie: User, team_b: Team
) -> None:
    pk = membership_pk(charlie, team_b)
    assert ada_client.post(f"/t/a/members/{pk}/role/", {"role": "viewer"}).status_code == 404
    assert ada_client.post(f"/t/a/members/{pk}/remove/").status_code == 404
    assert role_of(charlie, team_b) == Role.MEMBER


# ---------------------------------------------------------------------------------------
# The Django admin
# ---------------------------------------------------------------------------------------


@pytest.fixture
def root_client(db: None) -> Client:
    return logged_in(User.objects.create_superuser("root", "root@example.com", PASSWORD))


def test_a_superuser_lists_and_edits_teams_in_the_admin(
    root_client: Client, team_a: Team, alice: User, ada: User
) -> None:
    listing = root_client.get("/admin/teams/team/")
    assert listing.status_code == 200
    assert "Team A" in text(listing)

    change = root_client.get(f"/admin/teams/team/{team_a.pk}/change/")
    assert change.status_code == 200
    page = text(change)
    assert 'name="memberships-TOTAL_FORMS"' in page
    assert 'value="2" id="id_memberships-INITIAL_FORMS"' in page
    assert "alice" in page and "ada" in page


def test_a_superuser_creates_a_team_with_its_admin_in_the_admin(
    root_client: Client, charlie: User
) -> None:
    response = root_client.post(
        "/admin/teams/team/add/",
        {
            "name": "Team C",
            "slug": "c",
            "created_at_0": "2026-01-01",
            "created_at_1": "10:00:00",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-user": str(charlie.pk),
            "memberships-0-role": "admin",
        },
    )
    assert response.status_code == 302, text(response)
    team = Team.objects.get(slug="c")
    assert role_of(charlie, team) == Role.ADMIN
    assert logged_in(charlie).get("/t/c/members/").status_code == 200


def test_invitations_cannot_be_made_in_the_admin(root_client: Client) -> None:
    assert root_client.get("/admin/teams/invitation/add/").status_code == 403


@pytest.mark.parametrize("url", ["/admin/teams/team/", "/admin/teams/team/{pk}/change/"])
def test_a_member_who_is_not_staff_is_sent_to_the_admin_login(
    url: str, ada_client: Client, team_a: Team
) -> None:
    response = ada_client.get(url.format(pk=team_a.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
