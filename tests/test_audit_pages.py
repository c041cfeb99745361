"""The audit log's pages and rules: filters, CSV, who sees which log, append-only,
retention. (What each action records: tests/test_audit.py.)"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from playground.audit import tasks
from playground.audit.log import record
from playground.audit.models import Action, AppendOnlyError, AuditEntry
from playground.lib import schedules
from playground.teams.models import Team
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

LOG_A = "/t/a/audit/"


@pytest.fixture
def root(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.com", "x")


def written(days_ago: float, action: Action, team: Team, actor: User, **fields: Any) -> AuditEntry:
    """An entry as if record() had written it `days_ago` (an insert with its time: the
    log refuses updates, so an old entry is made old from the start)."""
    return AuditEntry.objects.create(
        created_at=timezone.now() - timedelta(days=days_ago),
        action=action,
        team=team,
        actor=actor,
        actor_name=actor.get_username(),
        **fields,
    )


@pytest.fixture
def log_a(team_a: Team, team_b: Team, ada: User, bob: User, charlie: User) -> None:
    """A few entries of team A (by ada and bob, on different days) and one of team B."""
    written(10, Action.BUDGET_CHANGED, team_a, ada, changes={"x": [1, 2]})
    written(3, Action.ROLE_CHANGED, team_a, ada, target="bob")
    record(Action.COLLECTION_DELETED, team=team_a, actor=bob, target="=HYPERLINK(1)")
    record(Action.KEY_ADDED, team=team_b, actor=charlie, target="charlie's key")


def shown(client: Client, query: str = "", url: str = LOG_A) -> list[str]:
    """The actions of the rows a page lists, in order."""
    page = client.get(f"{url}{query}").content.decode()
    return [part.split('"')[0] for part in page.split('data-action="')[1:]]


def csv_of(client: Client, url: str) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.reader(io.StringIO(body)))


# --- The team's page ------------------------------------------------------------------


def test_a_team_admin_sees_their_teams_log_newest_first_and_no_other_teams(
    log_a: None, ada_client: Client
) -> None:
    actions = [a for a in shown(ada_client) if a != Action.SIGNED_IN]
    assert actions == ["collection_deleted", "role_changed", "budget_changed"]
    page = ada_client.get(LOG_A).content.decode()
    assert "charlie&#x27;s key" not in page and "charlie" not in page


def test_the_page_shows_what_changed_from_before_to_after(
    team_a: Team, ada: User, ada_client: Client
) -> None:
    record(
        Action.BUDGET_CHANGED,
        team=team_a,
        actor=ada,
        changes={"monthly_budget_credits": ["100.00", "250"]},
    )
    page = ada_client.get(LOG_A).content.decode()
    assert "Budget changed" in page
    assert '<span class="before">100.00</span> → <span class="after">250</span>' in page
    assert "monthly budget (credits)" in page


def test_members_viewers_and_strangers_never_see_it(
    log_a: None, bob_client: Client, vera_client: Client, charlie_client: Client
) -> None:
    assert bob_client.get(LOG_A).status_code == 403
    assert vera_client.get(LOG_A).status_code == 403
    assert charlie_client.get(LOG_A).status_code == 404
    assert charlie_client.get("/t/a/audit.csv").status_code == 404


def test_the_team_page_links_to_it_for_admins_only(ada_client: Client, bob_client: Client) -> None:
    assert 'href="/t/a/audit/"' in ada_client.get("/t/a/members/").content.decode()
    assert 'href="/t/a/audit/"' not in bob_client.get("/t/a/members/").content.decode()


# --- Filters --------------------------------------------------------------------------


def test_filters_by_person_action_and_dates_combine(log_a: None, ada_client: Client) -> None:
    assert shown(ada_client, "?person=bob") == ["collection_deleted"]
    assert shown(ada_client, "?person=ADA&action=budget_changed") == ["budget_changed"]
    today = timezone.localdate()
    since = (today - timedelta(days=5)).isoformat()
    until = (today - timedelta(days=1)).isoformat()
    assert shown(ada_client, f"?since={since}&until={until}") == ["role_changed"]
    assert shown(ada_client, f"?until={until}") == ["role_changed", "budget_changed"]


def test_a_bad_filter_says_so_and_keeps_what_was_typed(log_a: None, ada_client: Client) -> None:
    response = ada_client.get(f"{LOG_A}?person=bob&since=2026-05-10&until=2026-05-01")
    assert response.status_code == 400
    page = response.content.decode()
    assert "“To” is before “From”: choose a later day." in page
    assert 'value="2026-05-01"' in page and 'value="bob"' in page
    # The other filters still apply.
    assert shown(ada_client, "?person=bob&until=not-a-date") == ["collection_deleted"]
    assert "Enter a valid date" in ada_client.get(f"{LOG_A}?until=not-a-date").content.decode()


def test_the_person_filter_suggests_the_names_in_the_log(log_a: None, ada_client: Client) -> None:
    page = ada_client.get(LOG_A).content.decode()
    assert '<option value="ada">' in page and '<option value="bob">' in page
    assert '<option value="charlie">' not in page


def test_the_log_is_paged(team_a: Team, ada: User, ada_client: Client) -> None:
    for n in range(55):
        record(Action.KEY_CHECKED, team=team_a, actor=ada, target=f"key {n}")
    first = ada_client.get(f"{LOG_A}?action=key_checked").content.decode()
    assert "key 54" in first and "key 4<" not in first
    assert "?action=key_checked&amp;page=2" in first
    second = ada_client.get(f"{LOG_A}?action=key_checked&page=2").content.decode()
    assert "key 4<" in second and "key 54" not in second


# --- CSV ------------------------------------------------------------------------------


def test_the_csv_holds_the_filtered_entries_with_no_live_formula(
    log_a: None, ada_client: Client
) -> None:
    rows = csv_of(ada_client, "/t/a/audit.csv?person=bob")
    assert rows[0] == ["when", "team", "person", "action", "target", "changes", "address"]
    assert len(rows) == 2
    when, team, person, action, target, changes, _address = rows[1]
    assert (team, person, action, changes) == ("a", "bob", "collection_deleted", "{}")
    assert target == "'=HYPERLINK(1)"  # shown as text by any spreadsheet
    assert when.startswith(str(timezone.now().year))
    budget = csv_of(ada_client, "/t/a/audit.csv?action=budget_changed")[1]
    assert budget[5] == '{"x": [1, 2]}'


def test_the_page_links_its_csv_with_the_same_filters(log_a: None, ada_client: Client) -> None:
    page = ada_client.get(f"{LOG_A}?person=bob&action=collection_deleted").content.decode()
    assert 'href="/t/a/audit.csv?person=bob&amp;action=collection_deleted"' in page


# --- Superusers -----------------------------------------------------------------------


def test_superusers_see_every_team_and_the_entries_of_none(log_a: None, root: User) -> None:
    record(Action.SIGN_IN_FAILED, team=None, actor=None, actor_name="mallory")
    client = logged_in(root)
    actions = shown(client, url="/audit/")
    assert {"budget_changed", "key_added", "sign_in_failed"} <= set(actions)
    assert shown(client, "?team=b", url="/audit/") == ["key_added"]
    # A superuser opens any team's log, without being in it.
    assert client.get(LOG_A).status_code == 200
    rows = csv_of(client, "/audit.csv?team=b")
    assert [row[1] for row in rows[1:]] == ["b"]


def test_nobody_else_sees_every_team(ada_client: Client, client: Client) -> None:
    assert ada_client.get("/audit/").status_code == 403
    assert ada_client.get("/audit.csv").status_code == 403
    assert client.get("/audit/").status_code == 302


# --- Append-only ----------------------------------------------------------------------


def test_an_entry_cannot_be_changed_or_deleted_in_the_app(team_a: Team, ada: User) -> None:
    entry = record(Action.BUDGET_CHANGED, team=team_a, actor=ada, changes={"x": [1, 2]})
    entry.target = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(target="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.target == "" and entry.changes == {"x": [1, 2]}


def test_the_admin_shows_entries_read_only(team_a: Team, ada: User, root: User) -> None:
    entry = record(Action.BUDGET_CHANGED, team=team_a, actor=ada)
    admin = logged_in(root)
    assert admin.get("/admin/audit/auditentry/").status_code == 200
    assert admin.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 200
    assert admin.get("/admin/audit/auditentry/add/").status_code == 403
    assert admin.post(f"/admin/audit/auditentry/{entry.pk}/change/", {}).status_code == 403
    assert admin.get(f"/admin/audit/auditentry/{entry.pk}/delete/").status_code == 403
    bulk = admin.post(
        "/admin/audit/auditentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk]},
    )
    assert bulk.status_code in (200, 302)
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_app_has_no_url_that_writes_the_log(
    log_a: None, ada_client: Client, root: User
) -> None:
    for client in (ada_client, logged_in(root)):
        for url in (LOG_A, "/t/a/audit.csv", "/audit/", "/audit.csv"):
            assert client.post(url).status_code == 405


# --- Retention ------------------------------------------------------------------------


def test_entries_past_the_retention_period_are_purged_and_no_others(
    team_a: Team, ada: User, settings: pytest.FixtureRequest
) -> None:
    settings.AUDIT_RETENTION_DAYS = 30  # type: ignore[attr-defined]
    old = written(31, Action.KEY_CHECKED, team_a, ada)
    kept = written(29, Action.KEY_CHECKED, team_a, ada)
    assert tasks.purge_expired() == 1
    assert not AuditEntry.objects.filter(pk=old.pk).exists()
    assert AuditEntry.objects.filter(pk=kept.pk).exists()
    assert tasks.purge_expired() == 0


def test_the_purge_runs_hourly() -> None:
    declared = {schedule.name: schedule for schedule in schedules.declared()}
    purge = declared["playground-audit-retention"]
    assert purge.func is tasks.purge_expired and purge.schedule_type == schedules.HOURLY


# --- What record() keeps of a value ---------------------------------------------------


def test_secrets_and_the_paths_of_urls_are_never_stored(team_a: Team, ada: User) -> None:
    entry = record(
        Action.BUDGET_CHANGED,
        team=team_a,
        actor=ada,
        changes={
            "webhook_secret": [None, "whsec-abcdef"],
            "api_key": ["sk-evo-old", "sk-evo-new"],
            "password": [None, False],
            "webhook_url": [
                "https://hooks.slack.com/services/T000/B000/XXXXSECRET",
                "https://example.com/hook?token=abc",
            ],
            "thresholds": [[50, 80], [50, 80, 100]],
        },
    )
    entry.refresh_from_db()
    assert entry.changes == {
        "webhook_secret": [None, "[hidden]"],
        "api_key": ["[hidden]", "[hidden]"],
        "password": [None, False],
        "webhook_url": ["https://hooks.slack.com/…", "https://example.com/…"],
        "thresholds": [[50, 80], [50, 80, 100]],
    }
    lines = {line.field: (line.before, line.after) for line in entry.change_lines()}
    assert lines["alert thresholds (%)"] == ("50, 80", "50, 80, 100")
    assert lines["password"] == (None, "off")


def test_an_empty_value_shows_as_the_dash_of_nothing(team_a: Team, ada: User) -> None:
    record(
        Action.BUDGET_CHANGED,
        team=team_a,
        actor=ada,
        changes={"webhook_url": ["", "https://example.com/hook"], "thresholds": [[], [80]]},
    )
    page = logged_in(ada).get("/t/a/audit/").content.decode()
    assert page.count('<span class="before">–</span> → <span class="after">') == 2
    assert '<span class="before"></span>' not in page


# --- Superusers' changes in /admin/ ---------------------------------------------------


def test_a_change_in_the_admin_is_recorded_with_its_fields_never_their_values(
    team_a: Team, root: User
) -> None:
    admin = logged_in(root)
    response = admin.post(
        "/admin/billing/apikey/add/",
        {
            "label": "Shared",
            "secret": "sk-evo-ADMINSECRET-77aa",
            "priority": "10",
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content[:500]
    added = AuditEntry.objects.get(action=Action.ADMIN_ADDED)
    assert added.actor == root and added.team is None
    assert added.target.startswith("billing.apikey “Shared")
    assert "ADMINSECRET" not in str(AuditEntry.objects.values_list("target", "changes"))
    response = admin.post(
        f"/admin/teams/team/{team_a.pk}/change/",
        {
            "name": "Team A renamed",
            "slug": "a",
            "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    changed = AuditEntry.objects.filter(action=Action.ADMIN_CHANGED).first()
    assert changed is not None and changed.team == team_a
    assert changed.changes["fields"] == [None, "Name, Created at"]
