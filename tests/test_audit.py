"""The audit log records every administrative action: who, when, from which address,
what changed (before → after), never a secret, in the change's own transaction.

Each action goes through its real page (the test client posts the form an admin
posts); the pages and the log's own rules are in tests/test_audit_pages.py.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.audit.models import Action, AuditEntry
from playground.billing.models import ApiKey
from playground.gallery.models import Collection
from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from playground.teams.models import Invitation, Membership, Role, Team
from tests.conftest import PASSWORD, logged_in, member
from tests.factories import make_generation, png_bytes, stored_key

pytestmark = pytest.mark.django_db

SECRET = "sk-evo-AUDITSECRET-9d8c7b6a"
NEW_SECRET = "sk-evo-REPLACEMENT-1a2b3c4d"


def entries(action: Action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def only(action: Action) -> AuditEntry:
    found = entries(action)
    assert len(found) == 1, [(e.action, e.target, e.changes) for e in AuditEntry.objects.all()]
    return found[0]


def changes_recorded() -> int:
    """Entries other than sign-ins (each client's force_login signs someone in)."""
    return AuditEntry.objects.exclude(action=Action.SIGNED_IN).count()


def everything_stored() -> str:
    """Every column of every entry, as text: where a leaked secret would show."""
    return json.dumps(list(AuditEntry.objects.values()), default=str, ensure_ascii=False)


def assert_by(entry: AuditEntry, who: User, team: Team) -> None:
    assert entry.actor == who and entry.actor_name == who.get_username()
    assert entry.team == team
    assert entry.address == "127.0.0.1"


# --- People ---------------------------------------------------------------------------


def test_inviting_by_username_is_recorded_with_the_role(
    ada: User, ada_client: Client, team_a: Team, charlie: User
) -> None:
    ada_client.post("/t/a/members/add/", {"username": "charlie", "role": "viewer"})
    entry = only(Action.MEMBER_INVITED)
    assert_by(entry, ada, team_a)
    assert entry.target == "charlie" and entry.changes == {"role": [None, "viewer"]}


def test_an_invitation_link_is_recorded_but_never_its_token(
    ada: User, ada_client: Client, team_a: Team
) -> None:
    page = ada_client.post("/t/a/invitations/", {"role": "member"}).content.decode()
    invitation = Invitation.objects.get()
    entry = only(Action.MEMBER_INVITED)
    assert_by(entry, ada, team_a)
    assert entry.changes == {"role": [None, "member"]}
    token = page.split("/invite/")[1].split("/")[0]
    assert len(token) > 20 and token not in everything_stored()
    assert invitation.token_hash not in everything_stored()


def test_revoking_an_invitation_is_recorded_once(ada: User, ada_client: Client) -> None:
    invitation, _token = Invitation.issue(ada.memberships.get().team, "member", ada)
    for _ in range(2):
        ada_client.post(f"/t/a/invitations/{invitation.pk}/revoke/")
    assert only(Action.INVITATION_REVOKED).changes == {"role": ["member", None]}


def test_joining_by_a_link_is_recorded_for_the_new_member(
    ada: User, team_a: Team, client: Client
) -> None:
    _invitation, token = Invitation.issue(team_a, "viewer", ada)
    client.post(
        f"/invite/{token}/",
        {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD},
    )
    newbie = User.objects.get(username="newbie")
    entry = only(Action.MEMBER_ADDED)
    assert_by(entry, newbie, team_a)
    assert entry.changes == {"role": [None, "viewer"]}


def test_accepting_an_invitation_by_username_is_recorded(
    ada: User, team_a: Team, charlie: User, charlie_client: Client
) -> None:
    invitation = Invitation.address(team_a, "member", ada, "charlie")
    charlie_client.post(f"/invitations/{invitation.pk}/accept/")
    assert_by(only(Action.MEMBER_ADDED), charlie, team_a)


def test_a_link_opened_by_someone_already_in_the_team_records_nothing(
    ada: User, team_a: Team, bob: User, bob_client: Client
) -> None:
    _invitation, token = Invitation.issue(team_a, "admin", ada)
    bob_client.post(f"/invite/{token}/")
    assert entries(Action.MEMBER_ADDED) == []
    assert Membership.objects.get(user=bob).role == Role.MEMBER


def test_a_role_change_and_a_cap_are_two_entries_with_before_and_after(
    ada: User, ada_client: Client, team_a: Team, bob: User
) -> None:
    bob_membership = Membership.objects.get(user=bob)
    ada_client.post(
        f"/t/a/members/{bob_membership.pk}/role/",
        {"role": "viewer", "monthly_cap_credits": "25.50"},
    )
    role = only(Action.ROLE_CHANGED)
    assert_by(role, ada, team_a)
    assert role.target == "bob" and role.changes == {"role": ["member", "viewer"]}
    assert only(Action.CAP_CHANGED).changes == {"monthly_cap_credits": [None, "25.50"]}
    # Saving the same again changes nothing, so it records nothing.
    ada_client.post(
        f"/t/a/members/{bob_membership.pk}/role/",
        {"role": "viewer", "monthly_cap_credits": "25.50"},
    )
    assert changes_recorded() == 2


def test_a_refused_change_records_nothing(ada: User, ada_client: Client) -> None:
    """The last admin cannot step down: nothing changed, so no entry."""
    own = Membership.objects.get(user=ada)
    ada_client.post(f"/t/a/members/{own.pk}/role/", {"role": "member"})
    ada_client.post(f"/t/a/members/{own.pk}/remove/")
    assert Membership.objects.get(user=ada).role == Role.ADMIN
    assert changes_recorded() == 0


def test_removing_a_member_is_recorded(
    ada: User, ada_client: Client, team_a: Team, bob: User
) -> None:
    ada_client.post(f"/t/a/members/{Membership.objects.get(user=bob).pk}/remove/")
    entry = only(Action.MEMBER_REMOVED)
    assert_by(entry, ada, team_a)
    assert entry.target == "bob" and entry.changes == {"role": ["member", None]}


# --- Money ----------------------------------------------------------------------------


def test_the_budget_and_the_limits_are_recorded_with_before_and_after(
    ada: User, ada_client: Client, team_a: Team
) -> None:
    ada_client.post("/t/a/budget/", {"monthly_budget_credits": "100"})
    ada_client.post("/t/a/budget/", {"monthly_budget_credits": "250.5"})
    first, second = entries(Action.BUDGET_CHANGED)
    assert first.changes == {"monthly_budget_credits": [None, "100"]}
    assert second.changes == {"monthly_budget_credits": ["100.00", "250.5"]}
    assert_by(second, ada, team_a)
    ada_client.post("/t/a/limits/", {"member_jobs_in_flight_limit": "3"})
    assert only(Action.LIMITS_CHANGED).changes == {"member_jobs_in_flight_limit": [None, 3]}


def test_a_budget_refused_by_its_form_records_nothing(ada_client: Client) -> None:
    assert ada_client.post("/t/a/budget/", {"monthly_budget_credits": "-5"}).status_code == 400
    assert changes_recorded() == 0


def test_the_entry_is_written_in_the_changes_own_transaction(
    ada_client: Client, team_a: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the entry cannot be written, the change does not happen either."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the audit log is down")

    monkeypatch.setattr("playground.teams.views.record", broken)
    ada_client.raise_request_exception = False
    assert ada_client.post("/t/a/budget/", {"monthly_budget_credits": "100"}).status_code == 500
    team_a.refresh_from_db()
    assert team_a.monthly_budget_credits is None


# --- Keys -----------------------------------------------------------------------------


def test_adding_a_key_records_its_masked_form_never_its_secret(
    ada: User, ada_client: Client, team_a: Team
) -> None:
    ada_client.post(
        "/t/a/keys/add/", {"label": "Main", "secret": SECRET, "priority": "5", "enabled": "on"}
    )
    key = ApiKey.objects.get(team=team_a)
    entry = only(Action.KEY_ADDED)
    assert_by(entry, ada, team_a)
    assert entry.target == "Main"
    assert entry.changes == {
        "label": [None, "Main"],
        "key": [None, "sk-evo-…" + SECRET[-4:]],
        "priority": [None, 5],
        "enabled": [None, True],
    }
    stored = everything_stored()
    assert SECRET not in stored and SECRET[:-4] not in stored
    assert key.secret_encrypted not in stored


def test_replacing_disabling_and_enabling_a_key_are_each_recorded(
    ada: User, ada_client: Client, team_a: Team
) -> None:
    key = stored_key("Main", SECRET, team_a)
    ada_client.post(
        f"/t/a/keys/{key.pk}/", {"label": "Main", "secret": NEW_SECRET, "priority": "10"}
    )
    replaced = only(Action.KEY_REPLACED)
    assert replaced.changes == {"key": ["sk-evo-…" + SECRET[-4:], "sk-evo-…" + NEW_SECRET[-4:]]}
    assert only(Action.KEY_DISABLED).changes == {"enabled": [True, False]}
    ada_client.post(
        f"/t/a/keys/{key.pk}/",
        {"label": "Renamed", "priority": "3", "enabled": "on", "low_balance_threshold": "50"},
    )
    assert only(Action.KEY_ENABLED).changes == {"enabled": [False, True]}
    assert only(Action.KEY_CHANGED).changes == {
        "label": ["Main", "Renamed"],
        "priority": [10, 3],
        "low_balance_threshold": [None, "50"],
    }
    stored = everything_stored()
    assert SECRET not in stored and NEW_SECRET not in stored
    assert SECRET[:-4] not in stored and NEW_SECRET[:-4] not in stored


def test_asking_for_a_key_check_is_recorded(
    ada: User, ada_client: Client, team_a: Team, django_capture_on_commit_callbacks: Any
) -> None:
    key = stored_key("Main", SECRET, team_a)
    with django_capture_on_commit_callbacks():
        ada_client.post(f"/t/a/keys/{key.pk}/check/")
    entry = only(Action.KEY_CHECKED)
    assert_by(entry, ada, team_a)
    assert entry.target == "Main"


def test_a_key_evolink_refuses_is_recorded_as_disabled_by_evolink_once(
    team_a: Team, django_capture_on_commit_callbacks: Any
) -> None:
    key = stored_key("Main", SECRET, team_a)
    with django_capture_on_commit_callbacks():
        key.record_refusal(401, "Invalid API key")
        key.record_refusal(401, "Invalid API key")  # already off: nothing new
        key.record_refusal(None, "timeout")  # not a refusal that disables
    entry = only(Action.KEY_DISABLED)
    assert entry.team == team_a and entry.actor is None and entry.actor_name == "EvoLink"
    assert entry.target == "Main"
    assert entry.changes == {"enabled": [True, False], "status": [None, 401]}


def test_a_superusers_contract_check_is_recorded(
    team_a: Team, django_capture_on_commit_callbacks: Any
) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "x")
    key = stored_key("Main", SECRET, team_a)
    with django_capture_on_commit_callbacks():
        logged_in(root).post(f"/t/a/keys/{key.pk}/contract/", {"spend": "1"})
    entry = only(Action.CONTRACT_CHECK_STARTED)
    assert_by(entry, root, team_a)
    assert entry.target == "Main" and entry.changes == {"spend": [None, True]}


def test_switching_a_model_is_recorded_for_the_team_and_for_the_site(
    ada: User, ada_client: Client, team_a: Team
) -> None:
    ada_client.post("/t/a/keys/models/", {"model": "gpt-image-1.5", "scope": "team", "on": "0"})
    ada_client.post("/t/a/keys/models/", {"model": "gpt-image-1.5", "scope": "team", "on": "0"})
    entry = only(Action.MODEL_SWITCHED)
    assert_by(entry, ada, team_a)
    assert entry.target == "gpt-image-1.5"
    assert entry.changes == {"enabled": [True, False], "scope": ["team", "team"]}
    ada.is_superuser = True
    ada.save()
    ada_client.post("/t/a/keys/models/", {"model": "gpt-image-1", "scope": "site", "on": "0"})
    site = entries(Action.MODEL_SWITCHED)[-1]
    assert site.team is None and site.changes["scope"] == ["site", "site"]


# --- Deletions and exports ------------------------------------------------------------


def test_deleting_a_job_records_its_number_and_maker_not_its_prompt(
    ada: User, ada_client: Client, team_a: Team, alice: User
) -> None:
    job = make_generation(alice, prompt="a private idea", state=State.COMPLETED)
    save_result(job, 0, png_bytes())
    ada_client.post(f"/generations/{job.public_id}/delete/")
    assert not Generation.objects.filter(pk=job.pk).exists()
    entry = only(Action.JOB_DELETED)
    assert_by(entry, ada, team_a)
    assert entry.target == f"#{job.number}"
    assert entry.changes == {
        "owner": ["alice", None],
        "model": ["gpt-image-2", None],
        "images": [1, None],
    }
    assert "a private idea" not in everything_stored()


def test_a_running_job_is_not_deleted_and_nothing_is_recorded(
    alice: User, alice_client: Client
) -> None:
    job = make_generation(alice, state=State.RUNNING)
    alice_client.post(f"/generations/{job.public_id}/delete/")
    assert Generation.objects.filter(pk=job.pk).exists()
    assert changes_recorded() == 0


def test_deleting_a_collection_is_recorded(alice: User, alice_client: Client, team_a: Team) -> None:
    shortlist = Collection.objects.create(team=team_a, name="Shortlist")
    alice_client.post(f"/t/a/collections/{shortlist.pk}/delete/")
    entry = only(Action.COLLECTION_DELETED)
    assert_by(entry, alice, team_a)
    assert entry.target == "Shortlist" and entry.changes == {"images": [0, None]}


def test_an_export_is_recorded_with_its_kind_and_size(
    alice: User, alice_client: Client, team_a: Team, django_capture_on_commit_callbacks: Any
) -> None:
    job = make_generation(alice, state=State.COMPLETED)
    image = save_result(job, 0, png_bytes())
    with django_capture_on_commit_callbacks():
        alice_client.post("/t/a/exports/", {"source": "selection", "image": [image.pk]})
    entry = only(Action.EXPORT_CREATED)
    assert_by(entry, alice, team_a)
    assert entry.target == "selection" and entry.changes == {"images": [None, 1]}


def test_an_admin_deleting_someone_elses_comment_is_recorded_but_not_its_text(
    ada: User, ada_client: Client, bob: User, bob_client: Client, alice: User, team_a: Team
) -> None:
    from playground.comments import threads

    job = make_generation(alice, state=State.COMPLETED)
    own = threads.post(bob, job, "my own words")
    bob_client.post(f"/comments/{own.pk}/delete/")
    assert changes_recorded() == 0  # deleting one's own comment is not moderation
    other = threads.post(bob, job, "a secret plan")
    ada_client.post(f"/comments/{other.pk}/delete/")
    entry = only(Action.COMMENT_DELETED)
    assert_by(entry, ada, team_a)
    assert entry.target == f"#{job.number}" and entry.changes == {"author": ["bob", None]}
    assert "a secret plan" not in everything_stored()


# --- Signing in -----------------------------------------------------------------------


def test_a_sign_in_is_recorded_in_each_of_the_persons_teams(
    alice: User, team_a: Team, team_b: Team, client: Client
) -> None:
    Membership.objects.create(user=alice, team=team_b)
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    signed = entries(Action.SIGNED_IN)
    assert {entry.team for entry in signed} == {team_a, team_b}
    for entry in signed:
        assert entry.actor == alice and entry.address == "127.0.0.1"


def test_a_sign_in_says_it_came_with_a_password_on_the_audit_page(
    ada: User, team_a: Team, client: Client, ada_client: Client
) -> None:
    client.post("/login/", {"username": "ada", "password": PASSWORD})
    assert {entry.target for entry in entries(Action.SIGNED_IN)} == {"password"}
    page = ada_client.get("/t/a/audit/").content.decode()
    assert 'data-testid="sign-in-how">with a password</span>' in page


def test_a_failed_sign_in_is_recorded_without_the_password(
    alice: User, team_a: Team, client: Client
) -> None:
    client.post("/login/", {"username": "alice", "password": "wrong-Pa55word!"})
    entry = only(Action.SIGN_IN_FAILED)
    assert entry.team == team_a and entry.actor == alice and entry.actor_name == "alice"
    assert entry.address == "127.0.0.1" and entry.changes == {}
    assert "wrong-Pa55word!" not in everything_stored()


def test_a_failed_sign_in_of_an_unknown_name_belongs_to_no_team(client: Client) -> None:
    client.post("/login/", {"username": "mallory", "password": "guess"})
    entry = only(Action.SIGN_IN_FAILED)
    assert entry.team is None and entry.actor is None and entry.actor_name == "mallory"


def test_a_sign_in_of_someone_without_a_team_belongs_to_no_team(client: Client) -> None:
    User.objects.create_user("loner", password=PASSWORD)
    client.post("/login/", {"username": "loner", "password": PASSWORD})
    entry = only(Action.SIGNED_IN)
    assert entry.team is None and entry.actor_name == "loner"


def test_the_name_stays_when_the_account_is_deleted(team_a: Team) -> None:
    gone = member("gone", team_a, Role.ADMIN)
    logged_in(gone).post("/t/a/budget/", {"monthly_budget_credits": "7"})
    gone.delete()
    entry = only(Action.BUDGET_CHANGED)
    assert entry.actor is None and entry.actor_name == "gone"
    assert entry.changes["monthly_budget_credits"] == [None, "7"]
    assert Decimal(entry.changes["monthly_budget_credits"][1]) == 7


def test_the_single_sign_on_group_mapping_records_what_it_changes(
    team_a: Team, team_b: Team, ada: User, settings: Any
) -> None:
    from playground.sso.people import MAPPING_ACTOR, apply_group_mapping

    settings.OIDC_GROUP_TEAMS = "designers=a:member;leads=a:admin;south=b:viewer"
    sam = User.objects.create_user("sam")
    apply_group_mapping(sam, ["designers", "south"])
    added = entries(Action.MEMBER_ADDED)
    assert {(e.team, e.target, e.changes["role"][1]) for e in added} == {
        (team_a, "sam", "member"),
        (team_b, "sam", "viewer"),
    }
    assert all(e.actor is None and e.actor_name == MAPPING_ACTOR for e in added)
    apply_group_mapping(sam, ["leads"])
    assert only(Action.ROLE_CHANGED).changes == {"role": ["member", "admin"]}
    removed = only(Action.MEMBER_REMOVED)
    assert removed.team == team_b and removed.changes == {"role": ["viewer", None]}
    apply_group_mapping(sam, ["leads"])  # nothing changes, nothing is recorded
    assert changes_recorded() == 4
