"""Proving EvoLink's contract with a key: `manage.py evolink_check` and the keys page's
"Check contract" button, against the simulator as a real server. It passes as the
simulator is; each drift the simulator can be switched to is named by the check."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from playground import request_rules
from playground.billing import contract_checks
from playground.billing.models import ApiKey, ContractCheck
from playground.billing.tasks import run_contract_check
from playground.evolink import contract
from playground.evolink.simulator import DRIFT_MODES, Simulator
from playground.teams.models import Membership, Team
from tests.conftest import logged_in, member
from tests.factories import stored_key
from tests.fixtures_simulator import free_port
from tests.queue import drain, wait_for

pytestmark = pytest.mark.django_db

CREATE = "POST /v1/images/generations"
SECRET = "sk-evo-contract-check-7f3e"


@pytest.fixture
def key(team_a: Team) -> ApiKey:
    return stored_key("Team A key", SECRET, team_a)


@pytest.fixture
def root(team_a: Team) -> User:
    user = User.objects.create_superuser("root", "root@example.com", "x")
    Membership.objects.create(user=user, team=team_a, role="admin")  # to see the keys page
    return user


def check_command(*args: str) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("evolink_check", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


# --- The cheapest job ---------------------------------------------------------------------


def test_the_paid_job_is_the_cheapest_documented_one() -> None:
    assert request_rules.request_errors(contract.CHEAPEST_JOB) == {}
    assert str(contract.CHEAPEST_ESTIMATE) == "0.11383"  # the pages' cheapest gpt-image-2


# --- The command -----------------------------------------------------------------------


def test_the_command_passes_against_the_simulator_and_archives_the_image(
    fast_jobs: Simulator, key: ApiKey
) -> None:
    output, error = check_command("--key", str(key.pk), "--spend")

    assert error is None, output
    check = ContractCheck.objects.get()
    assert check.outcome == "passed" and check.state == "done" and check.spend
    assert "All " in output and "as expected" in output
    # Every row is in the table, each with what was seen.
    assert "data.token.remaining_credits" in output and "usage.credits_used" in output
    assert "x-request-id" in output and "error.code" in output
    assert fast_jobs.request_count(CREATE) == 1  # one paid job, sent once
    assert check.task_id.startswith("task-unified-")
    assert str(check.credits_used) == "0.11383"
    assert check.request_ids and all(r.startswith("req_") for r in check.request_ids)
    with default_storage.open(check.archive) as archived, Image.open(archived) as image:
        assert image.size == (1776, 592)


def test_without_spend_the_command_creates_nothing(fast_jobs: Simulator) -> None:
    output, error = check_command("--env")

    assert error is None, output
    assert fast_jobs.tasks_created == 0 and fast_jobs.request_count(CREATE) == 0
    check = ContractCheck.objects.get()
    assert check.key is None and check.key_label == "EVOLINK_API_KEY"
    assert {row["step"] for row in check.rows} == {
        "GET /v1/credits",
        "GET /v1/tasks/{unknown id}",
    }


def test_base_url_chooses_the_evolink_to_check(fast_jobs: Simulator, settings, key) -> None:  # type: ignore[no-untyped-def]
    settings.EVOLINK_BASE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    output, error = check_command("--key", str(key.pk), "--base-url", fast_jobs.base_url)

    assert error is None, output
    assert ContractCheck.objects.get().base_url == fast_jobs.base_url


# Each drift, and the row (request, field) the check must name for it.
DRIFTS = {
    "renamed-field": [("GET /v1/tasks/{id}", "results", "missing")],
    "integer-error-code": [("GET /v1/tasks/{unknown id}", "error.code", "different")],
    "missing-usage": [
        ("POST /v1/images/generations", "usage.credits_reserved", "missing"),
        ("GET /v1/tasks/{id}", "usage.credits_used | usage.cost.credits", "missing"),
    ],
    "no-request-id": [
        ("GET /v1/tasks/{unknown id}", "x-request-id", "missing"),
        ("POST /v1/images/generations", "x-request-id", "missing"),
    ],
}


def test_every_drift_mode_has_a_case() -> None:
    assert set(DRIFTS) == set(DRIFT_MODES)


@pytest.mark.parametrize("mode", sorted(DRIFTS))
def test_the_command_names_each_drift(fast_jobs: Simulator, key: ApiKey, mode: str) -> None:
    # First as the simulator is: it passes.
    assert check_command("--key", str(key.pk), "--spend")[1] is None
    fast_jobs.set_drift(mode)

    output, error = check_command("--key", str(key.pk), "--spend")

    assert error is not None, output  # the exit status is not 0
    check = ContractCheck.objects.latest("pk")
    assert check.outcome == "differs"
    named = {(row["step"], row["field"], row["outcome"]) for row in check.differences}
    assert named >= set(DRIFTS[mode]), named
    for _step, field, outcome in DRIFTS[mode]:
        line = next(li for li in output.splitlines() if f" {field} " in li and "ok" not in li[:3])
        assert outcome.upper() in line, line


def test_the_renamed_field_also_leaves_nothing_to_archive(fast_jobs: Simulator, key) -> None:  # type: ignore[no-untyped-def]
    fast_jobs.set_drift("renamed-field")

    check_command("--key", str(key.pk), "--spend")

    check = ContractCheck.objects.get()
    assert ("GET results[0]", "image", "missing") in {
        (r["step"], r["field"], r["outcome"]) for r in check.differences
    }
    assert check.archive == ""


def test_a_refused_key_is_a_difference_and_nothing_more_is_asked(
    fast_jobs: Simulator, key: ApiKey
) -> None:
    fast_jobs.api_keys = frozenset({"sk-evo-someone-else"})
    try:
        _output, error = check_command("--key", str(key.pk), "--spend")
    finally:
        fast_jobs.api_keys = None

    assert error is not None
    rows = ContractCheck.objects.get().rows
    assert [(r["step"], r["outcome"]) for r in rows] == [("GET /v1/credits", "different")]
    assert "unauthorized" in rows[0]["seen"]
    assert fast_jobs.request_count(CREATE) == 0


def test_a_create_without_an_answer_is_never_sent_again(fast_jobs: Simulator, key) -> None:  # type: ignore[no-untyped-def]
    fast_jobs.drop_creates()

    _output, error = check_command("--key", str(key.pk), "--spend")

    assert error is not None
    assert fast_jobs.request_count(CREATE) == 1  # the task exists upstream; not re-sent
    row = next(r for r in ContractCheck.objects.get().rows if r["step"].startswith("POST"))
    assert (row["field"], row["outcome"]) == ("HTTP status", "missing")


def test_a_failed_job_is_named(fast_jobs: Simulator, key: ApiKey) -> None:
    fast_jobs.fail_tasks("content_policy_violation")

    check_command("--key", str(key.pk), "--spend")

    seen = {r["expected"]: r for r in ContractCheck.objects.get().differences}
    assert "content_policy_violation" in seen[contract.COMPLETED]["seen"]


def test_the_command_needs_a_key(fast_jobs: Simulator, settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="No stored key"):
        call_command("evolink_check", "--key", "999", stdout=io.StringIO())
    settings.EVOLINK_API_KEY = ""
    with pytest.raises(CommandError, match="EVOLINK_API_KEY is not set"):
        call_command("evolink_check", "--env", stdout=io.StringIO())
    assert not ContractCheck.objects.exists()


# --- The simulator's drift switch --------------------------------------------------------


def test_drift_is_switched_over_http_and_reset_ends_it(simulator: Simulator) -> None:
    httpx.post(
        f"{simulator.base_url}/_simulator/faults", json={"fault": "drift", "mode": "no-request-id"}
    )
    answer = httpx.get(f"{simulator.base_url}/v1/credits")
    assert answer.status_code == 401 and "x-request-id" not in answer.headers

    simulator.reset()

    assert httpx.get(f"{simulator.base_url}/v1/credits").headers["x-request-id"]
    refused = httpx.post(
        f"{simulator.base_url}/_simulator/faults", json={"fault": "drift", "mode": "x"}
    )
    assert refused.status_code == 400 and "unknown drift" in refused.text


def test_simulate_evolink_drifts_from_the_command_line(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
        [
            sys.executable,
            "manage.py",
            "simulate_evolink",
            "--port",
            str(port),
            "--drift",
            "integer-error-code",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "PLAYGROUND_VAR_DIR": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1/tasks/task-unified-0-none"

    def answers() -> bool:
        try:
            return httpx.get(url, headers={"Authorization": "Bearer sk-x"}).status_code == 404
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, timeout=20)
        body = httpx.get(url, headers={"Authorization": "Bearer sk-x"}).json()
        assert body["error"]["code"] == 404  # an integer, not "task_not_found"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- The button ------------------------------------------------------------------------


def test_the_button_runs_the_check_in_a_worker_and_the_page_shows_the_table(
    fast_jobs: Simulator, key: ApiKey, root: User, django_capture_on_commit_callbacks
) -> None:
    browser = logged_in(root)
    with django_capture_on_commit_callbacks(execute=True):
        started = browser.post(f"/t/a/keys/{key.pk}/contract/")
    check = ContractCheck.objects.get()
    assert started.status_code == 302
    assert started["Location"] == f"/t/a/keys/contract/{check.pk}/"
    assert (check.requested_by, check.team, check.spend, check.state) == (
        root,
        key.team,
        False,
        "queued",
    )

    waiting = browser.get(f"/t/a/keys/contract/{check.pk}/")
    assert 'hx-trigger="every 2s"' in waiting.content.decode()

    assert drain() == ["run_contract_check"]
    page = browser.get(f"/t/a/keys/contract/{check.pk}/").content.decode()
    assert "Passed" in page and "data.user.remaining_credits" in page
    assert 'hx-trigger="every 2s"' not in page  # finished: the polling stops
    assert fast_jobs.tasks_created == 0

    # The keys page lists it.
    keys_page = browser.get("/t/a/keys/").content.decode()
    assert f"/t/a/keys/contract/{check.pk}/" in keys_page and "Check contract" in keys_page


def test_the_paid_check_asks_first_then_spends_once(
    fast_jobs: Simulator, key: ApiKey, root: User, django_capture_on_commit_callbacks
) -> None:
    browser = logged_in(root)
    confirm = browser.get(f"/t/a/keys/{key.pk}/contract/").content.decode()
    assert "It costs about 0.11383 credits" in confirm
    assert fast_jobs.request_count(CREATE) == 0  # asking costs nothing

    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"/t/a/keys/{key.pk}/contract/", {"spend": "1"})
        # A second press while it is queued joins the first instead of paying again.
        again = browser.post(f"/t/a/keys/{key.pk}/contract/", {"spend": "1"})
    check = ContractCheck.objects.get()
    assert again["Location"] == f"/t/a/keys/contract/{check.pk}/"

    drain()
    assert run_contract_check(check.pk) == "already"  # a re-delivery does nothing
    check.refresh_from_db()
    assert check.outcome == "passed" and check.spend
    assert fast_jobs.request_count(CREATE) == 1
    page = browser.get(f"/t/a/keys/contract/{check.pk}/").content.decode()
    assert check.task_id in page and "0.11383 credits" in page


def test_the_page_names_the_drift(
    fast_jobs: Simulator, key: ApiKey, root: User, django_capture_on_commit_callbacks
) -> None:
    fast_jobs.set_drift("integer-error-code")
    browser = logged_in(root)
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"/t/a/keys/{key.pk}/contract/")
    drain()

    page = browser.get(f"/t/a/keys/contract/{ContractCheck.objects.get().pk}/").content.decode()

    assert "1 difference" in page
    assert 'data-field="error.code" data-outcome="different"' in page


def test_a_check_whose_worker_died_says_so(key: ApiKey, root: User) -> None:
    check = contract_checks.create(key=key, spend=True)
    ContractCheck.objects.filter(pk=check.pk).update(
        state="running", started_at=check.requested_at - contract_checks.STALLED_AFTER * 2
    )

    page = logged_in(root).get(f"/t/a/keys/contract/{check.pk}/").content.decode()

    assert "stopped without finishing" in page and "every 2s" not in page


def test_only_superusers_see_the_button(key: ApiKey, root: User, team_a: Team) -> None:
    admin = logged_in(member("ada", team_a, "admin"))
    assert "Check contract" not in admin.get("/t/a/keys/").content.decode()
    assert "Check contract" in logged_in(root).get("/t/a/keys/").content.decode()


def test_a_check_of_another_team_is_not_found(key: ApiKey, root: User, team_b: Team) -> None:
    check = contract_checks.create(key=key, spend=False)

    assert logged_in(root).get(f"/t/b/keys/contract/{check.pk}/").status_code == 404


def test_checks_are_kept_read_only_in_the_admin(key: ApiKey, root: User) -> None:
    check = contract_checks.create(key=key, spend=True)
    admin = logged_in(root)

    assert "Team A key" in admin.get("/admin/billing/contractcheck/").content.decode()
    assert admin.get(f"/admin/billing/contractcheck/{check.pk}/change/").status_code == 200
    assert admin.get("/admin/billing/contractcheck/add/").status_code == 403


def test_a_check_whose_key_is_gone_stops_and_says_why(fast_jobs: Simulator, key, root) -> None:  # type: ignore[no-untyped-def]
    check = contract_checks.create(key=key, spend=True)
    key.delete()

    assert contract_checks.perform(check.pk) == "crashed"

    check.refresh_from_db()
    assert check.state == "crashed" and "is gone" in check.error
    assert fast_jobs.request_count(CREATE) == 0
    page = logged_in(root).get(f"/t/a/keys/contract/{check.pk}/").content.decode()
    assert "The check stopped" in page and "every 2s" not in page
