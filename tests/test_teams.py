"""Teams: the members page, roles, invitation links, the current team and the admin.

Personas (tests/conftest.py): team A (`/t/a/`) has alice and bob (members), vera (a
viewer) and ada (its admin); charlie is in team B only; anonymous is signed in nowhere.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from playground.generations.models import Generation, State
from playground.teams.models import Invitation, Membership, Profile, Role, Team
from tests.conftest import PASSWORD, logged_in, member
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

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
# Invitation links
# ---------------------------------------------------------------------------------------


def test_an_invitation_link_is_shown_once_and_not_stored_in_clear(
    ada_client: Client, ada: User, team_a: Team
) -> None:
    link = invite(ada_client)
    assert link.startswith("/invite/")
    token = token_of(link)
    invitation = Invitation.objects.get()
    assert invitation.team == team_a and invitation.role == Role.MEMBER
    assert invitation.created_by == ada
    assert invitation.token_hash != token
    assert token not in invitation.token_hash
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    # The next visit lists it as open, without the link.
    page = text(ada_client.get(MEMBERS))
    assert token not in page
    assert 'data-testid="invitation-link"' not in page
    assert "Open invitations" in page
    assert f"/t/a/invitations/{invitation.pk}/revoke/" in page


def test_an_invitation_with_a_role_that_does_not_exist_is_refused(ada_client: Client) -> None:
    response = ada_client.post("/t/a/invitations/", {"role": "owner"})
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_opening_a_link_anonymously_shows_a_sign_up_form(
    client: Client, ada_client: Client
) -> None:
    link = invite(ada_client)
    response = client.get(link)
    assert response.status_code == 200
    page = text(response)
    assert 'Join <span translate="no">Team A</span>' in page
    assert 'name="password1"' in page and 'name="password2"' in page
    assert 'name="username"' in page
    assert "Member" in page
    # Looking does not use the link up.
    assert Invitation.objects.get().used_at is None


def test_signing_up_through_a_link_joins_the_team_with_the_invited_role(
    client: Client, ada_client: Client, team_a: Team
) -> None:
    link = invite(ada_client, Role.MEMBER)
    response = sign_up(client, link, "newbie")
    assert response.status_code == 302 and response["Location"] == "/t/a/"
    newbie = User.objects.get(username="newbie")
    assert newbie.check_password(PASSWORD)
    assert role_of(newbie, team_a) == Role.MEMBER
    # Signed in, and team A is remembered as theirs.
    studio = client.get("/t/a/")
    assert studio.status_code == 200
    assert "Welcome to Team A." in text(studio)
    assert Profile.objects.get(user=newbie).current_team == team_a
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/t/a/"
    invitation = Invitation.objects.get()
    assert invitation.used_by == newbie and invitation.used_at is not None


def test_signing_up_as_a_viewer_gives_the_viewer_role(
    client: Client, ada_client: Client, team_a: Team
) -> None:
    link = invite(ada_client, Role.VIEWER)
    sign_up(client, link, "looker")
    looker = User.objects.get(username="looker")
    assert role_of(looker, team_a) == Role.VIEWER
    assert client.post("/t/a/", {"prompt": "a fox"}).status_code == 403


def test_a_failed_sign_up_creates_nobody_and_keeps_the_link(
    client: Client, ada_client: Client, team_a: Team
) -> None:
    link = invite(ada_client)
    response = client.post(
        link, {"username": "newbie", "password1": PASSWORD, "password2": "something else"}
    )
    assert response.status_code == 400
    assert 'name="password1"' in text(response)
    assert not User.objects.filter(username="newbie").exists()
    assert Invitation.objects.get().used_at is None
    # A corrected attempt still works.
    assert sign_up(client, link, "newbie")["Location"] == "/t/a/"
    assert role_of(User.objects.get(username="newbie"), team_a) == Role.MEMBER


def test_signing_up_with_a_taken_username_is_refused(
    client: Client, ada_client: Client, bob: User
) -> None:
    link = invite(ada_client)
    response = sign_up(client, link, "bob")
    assert response.status_code == 400
    assert User.objects.filter(username="bob").count() == 1
    assert Invitation.objects.get().used_at is None


def test_an_invitation_link_works_once(
    client: Client, ada_client: Client, charlie_client: Client, team_a: Team, charlie: User
) -> None:
    link = invite(ada_client)
    assert sign_up(client, link, "first")["Location"] == "/t/a/"

    second = Client()
    response = second.get(link)
    assert response.status_code == 410
    assert SPENT in text(response)
    response = sign_up(second, link, "second")
    assert response.status_code == 410
    assert SPENT in text(response)
    assert not User.objects.filter(username="second").exists()

    # Nor for someone who is signed in.
    assert charlie_client.get(link).status_code == 410
    assert charlie_client.post(link).status_code == 410
    assert not Membership.objects.filter(user=charlie, team=team_a).exists()


def test_the_person_who_used_a_link_is_sent_to_the_team_when_opening_it_again(
    client: Client, ada_client: Client
) -> None:
    link = invite(ada_client)
    sign_up(client, link, "first")
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == "/t/a/"


def test_an_expired_invitation_no_longer_works(
    client: Client, ada_client: Client, charlie_client: Client, charlie: User, team_a: Team
) -> None:
    link = invite(ada_client)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(link)
    assert response.status_code == 410
    assert SPENT in text(response)
    assert sign_up(client, link, "late").status_code == 410
    assert not User.objects.filter(username="late").exists()
    assert charlie_client.post(link).status_code == 410
    assert not Membership.objects.filter(user=charlie, team=team_a).exists()


def test_a_revoked_invitation_no_longer_works(
    client: Client, ada_client: Client, team_a: Team
) -> None:
    link = invite(ada_client)
    invitation = Invitation.objects.get()
    response = ada_client.post(f"/t/a/invitations/{invitation.pk}/revoke/")
    assert "The invitation link no longer works." in admin_message_after(ada_client, response)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert f"/t/a/invitations/{invitation.pk}/revoke/" not in text(ada_client.get(MEMBERS))

    response = client.get(link)
    assert response.status_code == 410 and SPENT in text(response)
    assert sign_up(client, link, "late").status_code == 410
    assert not User.objects.filter(username="late").exists()


def test_revoking_a_used_invitation_leaves_its_record_as_used(
    client: Client, ada_client: Client
) -> None:
    link = invite(ada_client)
    sign_up(client, link, "first")
    invitation = Invitation.objects.get()
    ada_client.post(f"/t/a/invitations/{invitation.pk}/revoke/")
    invitation.refresh_from_db()
    assert invitation.revoked_at is None and invitation.used_at is not None


def test_an_unknown_invitation_token_is_404(client: Client, charlie_client: Client) -> None:
    for who in (client, charlie_client):
        response = who.get("/invite/not-a-real-token/")
        assert response.status_code == 404
        assert "This invitation link does not work" in text(response)
        assert who.post("/invite/not-a-real-token/").status_code == 404


def test_an_existing_user_joins_through_a_link_and_keeps_their_other_team(
    ada_client: Client, charlie_client: Client, charlie: User, team_a: Team, team_b: Team
) -> None:
    link = invite(ada_client, Role.VIEWER)
    page = charlie_client.get(link)
    assert page.status_code == 200
    assert 'You are signed in as <span translate="no">charlie</span>.' in text(page)
    assert 'name="password1"' not in text(page)

    response = charlie_client.post(link)
    assert response.status_code == 302 and response["Location"] == "/t/a/"
    assert role_of(charlie, team_a) == Role.VIEWER
    assert role_of(charlie, team_b) == Role.MEMBER
    assert charlie_client.get("/t/a/").status_code == 200
    assert charlie_client.get("/t/b/").status_code == 200
    invitation = Invitation.objects.get()
    assert invitation.used_by == charlie


def test_someone_already_in_the_team_keeps_their_role_and_does_not_use_up_the_link(
    ada_client: Client, bob_client: Client, bob: User, client: Client, team_a: Team
) -> None:
    link = invite(ada_client, Role.VIEWER)
    response = bob_client.post(link)
    assert response.status_code == 302 and response["Location"] == "/t/a/"
    assert role_of(bob, team_a) == Role.MEMBER
    assert Membership.objects.filter(user=bob, team=team_a).count() == 1
    invitation = Invitation.objects.get()
    assert invitation.used_at is None and invitation.used_by is None
    # The link still brings in the person it was meant for.
    assert sign_up(client, link, "intended")["Location"] == "/t/a/"
    assert role_of(User.objects.get(username="intended"), team_a) == Role.VIEWER


def test_an_admin_opening_their_own_link_keeps_being_admin(
    ada_client: Client, ada: User, team_a: Team
) -> None:
    link = invite(ada_client, Role.VIEWER)
    ada_client.post(link)
    assert role_of(ada, team_a) == Role.ADMIN
    assert Invitation.objects.get().used_at is None


@pytest.mark.parametrize(("persona", "status"), [("alice_client", 403), ("vera_client", 403)])
def test_only_admins_create_or_revoke_invitations(
    persona: str, status: int, request: pytest.FixtureRequest, team_a: Team, ada: User
) -> None:
    client: Client = request.getfixturevalue(persona)
    response = client.post("/t/a/invitations/", {"role": "admin"})
    assert response.status_code == status
    assert 'data-testid="invitation-link"' not in response.content.decode()
    assert not Invitation.objects.exists()

    invitation, _token = Invitation.issue(team_a, Role.MEMBER, ada)
    assert client.post(f"/t/a/invitations/{invitation.pk}/revoke/").status_code == status
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_a_stranger_cannot_create_or_revoke_another_teams_invitations(
    charlie_client: Client, team_a: Team, ada: User
) -> None:
    assert charlie_client.post("/t/a/invitations/", {"role": "admin"}).status_code == 404
    assert not Invitation.objects.exists()
    invitation, _token = Invitation.issue(team_a, Role.MEMBER, ada)
    assert charlie_client.post(f"/t/a/invitations/{invitation.pk}/revoke/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_an_admin_cannot_revoke_another_teams_invitation(
    ada_client: Client, team_b: Team, charlie: User
) -> None:
    invitation, _token = Invitation.issue(team_b, Role.MEMBER, charlie)
    assert ada_client.post(f"/t/a/invitations/{invitation.pk}/revoke/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_two_people_racing_for_the_same_link_only_one_joins(team_a: Team, ada: User) -> None:
    invitation, _token = Invitation.issue(team_a, Role.MEMBER, ada)
    first = User.objects.create_user("first", password=PASSWORD)
    second = User.objects.create_user("second", password=PASSWORD)
    # Both requests loaded the invitation while it was still unused.
    seen_by_first = Invitation.objects.get(pk=invitation.pk)
    seen_by_second = Invitation.objects.get(pk=invitation.pk)
    assert seen_by_first.is_usable and seen_by_second.is_usable

    joined = seen_by_first.accept(first)
    lost = seen_by_second.accept(second)

    assert joined is not None and joined.user == first and joined.role == Role.MEMBER
    assert lost is None
    assert Membership.objects.filter(team=team_a, user__in=[first, second]).count() == 1
    invitation.refresh_from_db()
    assert invitation.used_by == first


def test_accepting_an_expired_or_revoked_invitation_object_joins_nobody(
    team_a: Team, ada: User
) -> None:
    person = User.objects.create_user("late", password=PASSWORD)
    expired, _ = Invitation.issue(team_a, Role.MEMBER, ada)
    stale = Invitation.objects.get(pk=expired.pk)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    assert stale.accept(person) is None
    revoked, _ = Invitation.issue(team_a, Role.MEMBER, ada)
    stale = Invitation.objects.get(pk=revoked.pk)
    Invitation.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    assert stale.accept(person) is None
    assert not Membership.objects.filter(user=person).exists()


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


def test_a_used_expired_or_revoked_link_does_not_name_the_team(
    client: Client, ada_client: Client
) -> None:
    """Issue 19, finding 7: whoever holds an old link learns only that it is no longer
    valid, not which team it was for."""
    used = invite(ada_client)
    sign_up(Client(), used, "first")
    expired = invite(ada_client)
    Invitation.objects.filter(used_at=None).update(expires_at=timezone.now())
    revoked = invite(ada_client)
    Invitation.objects.filter(used_at=None, expires_at__gt=timezone.now()).update(
        revoked_at=timezone.now()
    )
    for link in (used, expired, revoked):
        response = client.get(link)
        assert response.status_code == 410
        assert SPENT in text(response) and "Team A" not in text(response)
