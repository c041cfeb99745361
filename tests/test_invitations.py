"""Teams: invitation links, from the admin's page to the person who signs up or joins.

Personas (tests/conftest.py): team A (`/t/a/`) has alice and bob (members), vera (a
viewer) and ada (its admin); charlie is in team B only; anonymous is signed in nowhere.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from playground.teams.models import Invitation, Membership, Profile, Role, Team
from tests.conftest import PASSWORD
from tests.teams import (
    MEMBERS,
    SPENT,
    admin_message_after,
    invite,
    role_of,
    sign_up,
    text,
    token_of,
)

pytestmark = pytest.mark.django_db

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
