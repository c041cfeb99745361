"""EvoLink's error codes told apart (reference, August 2026): each its own message, the
key states they lead to, reads that lose their key, request ids and charges. Against
the simulator over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from playground.billing.models import ApiKey, next_midnight
from playground.evolink.client import ERRORS, EvoLinkError
from playground.evolink.client import Client as EvoLinkClient
from playground.evolink.simulator import Simulator
from playground.generations import jobs, spend
from playground.generations.models import Generation, State
from tests.factories import make_generation
from tests.fixtures_keys import FIRST, SECOND
from tests.queue import run_to_the_end

pytestmark = pytest.mark.django_db

CREATE = "POST /v1/images/generations"


def queued(owner: User) -> Generation:
    return make_generation(owner, state=State.QUEUED, prompt="an error test")


# --- Each documented code has its own sentence ------------------------------------------

CREATE_ERRORS = [
    # (status, body code, upstream message, our code)
    (400, "invalid_request", "size: not allowed", "invalid_request"),
    (400, "invalid_request", "Model not found: gpt-image-1", "model_not_found"),
    (401, "unauthorized", "Invalid API key.", "unauthorized"),
    (402, "insufficient_quota", "Insufficient account balance.", "insufficient_quota"),
    (402, "insufficient_quota", "Token quota exhausted.", "key_quota_exceeded"),
    (402, "insufficient_quota", "Token daily quota exceeded.", "key_daily_quota_exceeded"),
    (402, "key_disabled", "Key disabled.", "key_disabled"),
    (402, "key_expired", "Key expired.", "key_expired"),
    (402, "key_model_not_allowed", "No.", "key_model_not_allowed"),
    (403, "model_access_denied", "Token does not have access to model: x", "model_access_denied"),
    (429, "rate_limit_exceeded", "Slow down.", "rate_limit_exceeded"),
]
READ_ERRORS = [
    (400, "invalid_task_id", "Bad id.", "invalid_task_id"),
    (402, "quota_exceeded", "Quota exceeded.", "quota_exceeded"),
    (403, "permission_denied", "Not yours.", "permission_denied"),
    (404, "task_not_found", "Task not found.", "task_not_found"),
    (500, "internal_error", "Oops.", "internal_error"),
]


def body(code: str, message: str) -> str:
    return httpx.Response(200, json={"error": {"code": code, "message": message}}).text


@pytest.mark.parametrize(("status", "code", "said", "ours"), CREATE_ERRORS)
def test_each_create_error_code_has_its_own_message(
    simulator: Simulator, status: int, code: str, said: str, ours: str
) -> None:
    simulator.fail_creates(status, body=body(code, said), content_type="application/json")
    with (
        EvoLinkClient(simulator.api_key, simulator.base_url, max_attempts=1) as client,
        pytest.raises(EvoLinkError) as caught,
    ):
        client.create_task({"model": "gpt-image-2", "prompt": "x"})
    assert (caught.value.status, caught.value.code) == (status, ours)
    assert caught.value.message.startswith(ERRORS[ours].message)
    assert caught.value.request_id.startswith("req_")
    assert not caught.value.uncertain  # refused: nothing was created


@pytest.mark.parametrize(("status", "code", "said", "ours"), READ_ERRORS)
def test_each_task_read_error_code_has_its_own_message(
    simulator: Simulator, status: int, code: str, said: str, ours: str
) -> None:
    simulator.fail_reads(status, body=body(code, said), content_type="application/json")
    with (
        EvoLinkClient(simulator.api_key, simulator.base_url, max_attempts=1) as client,
        pytest.raises(EvoLinkError) as caught,
    ):
        client.get_task("task-unified-1-abcdefgh")
    assert (caught.value.status, caught.value.code) == (status, ours)
    assert caught.value.message.startswith(ERRORS[ours].message)
    assert caught.value.request_id


def test_the_messages_are_all_different() -> None:
    codes = {ours for *_, ours in CREATE_ERRORS + READ_ERRORS} - {
        "rate_limit_exceeded",  # reads as "rate limited", said in the same words
        "internal_error",
    }
    messages = [ERRORS[code].message for code in codes]
    assert len(set(messages)) == len(messages)


# --- What each refusal does to the key ------------------------------------------------------


def test_a_daily_quota_402_rests_the_key_until_midnight_and_the_next_key_pays(
    alice: User, ada_client: Client, two_keys: tuple[ApiKey, ApiKey], fast_jobs: Simulator
) -> None:
    first, second = two_keys
    fast_jobs.set_key_state(FIRST, "daily_quota")
    job = queued(alice)
    assert jobs.submit(job.pk) == "submitted"
    job.refresh_from_db()
    first.refresh_from_db()
    assert job.api_key == second
    assert first.enabled and not first.disabled_automatically_at  # paused, not disabled
    assert first.paused_until == next_midnight()
    assert first.paused_until > timezone.now()
    assert "daily quota" in first.last_error
    assert "Resting until" in ada_client.get("/t/a/keys/").content.decode()
    # While it rests, jobs go straight to the second key...
    later = queued(alice)
    jobs.submit(later.pk)
    assert Generation.objects.get(pk=later.pk).api_key == second
    assert fast_jobs.request_count(CREATE) == 3
    # With both resting, a job says until when, and sends nothing.
    fast_jobs.set_key_state(SECOND, "daily_quota")
    refused = queued(alice)
    assert jobs.submit(refused.pk) == "failed"  # the second key's own 402
    assert "daily quota" in Generation.objects.get(pk=refused.pk).error_message
    both = queued(alice)
    assert jobs.submit(both.pk) == "failed"  # nothing left to try: nothing sent
    both.refresh_from_db()
    assert (both.state, both.error_code) == (State.FAILED, "keys_resting")
    assert "daily quota" in both.error_message and "nothing was charged" in both.error_message
    assert fast_jobs.request_count(CREATE) == 4
    ApiKey.objects.filter(pk=second.pk).update(paused_until=None)
    fast_jobs.set_key_state(SECOND, "active")
    # ... and after midnight it pays again.
    ApiKey.objects.filter(pk=first.pk).update(paused_until=timezone.now())
    fast_jobs.set_key_state(FIRST, "active")
    after = queued(alice)
    jobs.submit(after.pk)
    assert Generation.objects.get(pk=after.pk).api_key == first


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("disabled", "EvoLink has disabled this API key"),
        ("expired", "This API key has expired"),
        ("revoked", "EvoLink did not accept this team's API key"),
        ("quota", "This API key's own credit limit is used up"),
    ],
)
def test_a_disabled_or_expired_key_is_disabled_with_its_reason(
    alice: User,
    ada_client: Client,
    two_keys: tuple[ApiKey, ApiKey],
    fast_jobs: Simulator,
    state: str,
    reason: str,
) -> None:
    first, second = two_keys
    fast_jobs.set_key_state(FIRST, state)
    job = queued(alice)
    assert jobs.submit(job.pk) == "submitted"
    first.refresh_from_db()
    assert not first.enabled and first.disabled_automatically_at
    assert first.last_error.startswith(reason)
    assert Generation.objects.get(pk=job.pk).api_key == second
    page = ada_client.get("/t/a/keys/").content.decode()
    assert "Switched off automatically" in page and reason.replace("'", "&#x27;") in page


def test_a_balance_problem_says_so(
    alice: User, two_keys: tuple[ApiKey, ApiKey], fast_jobs: Simulator
) -> None:
    for secret in (FIRST, SECOND):
        fast_jobs.set_key_state(secret, "balance")
    job = queued(alice)
    assert jobs.submit(job.pk) == "failed"
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.FAILED, "keys_refused")
    assert "balance is too low" in job.error_message and "top up" in job.error_message
    assert spend.charge_of(job).kind == "not_charged"
    assert fast_jobs.tasks_created == 0


# --- A key refused while its task runs --------------------------------------------------------


@pytest.mark.parametrize("state", ["revoked", "disabled"])
def test_a_read_refused_for_the_key_goes_on_with_another_key_of_the_account(
    alice: User,
    ada_client: Client,
    two_keys: tuple[ApiKey, ApiKey],
    fast_jobs: Simulator,
    state: str,
) -> None:
    first, second = two_keys
    fast_jobs.share_account(FIRST, SECOND)  # two keys of one EvoLink account
    job = queued(alice)
    assert jobs.submit(job.pk) == "submitted"
    fast_jobs.set_key_state(FIRST, state)  # revoked (401) / disabled (402) mid-run

    job = run_to_the_end(job)
    assert job.state == State.COMPLETED and job.images.count() == 1
    assert job.api_key == first and job.read_api_key == second  # paid by, read with
    assert job.credits_charged and spend.charge_of(job).kind == "charged"
    first.refresh_from_db()
    assert not first.enabled
    refused = [r for r in job.upstream_request_ids if r["call"] == "read"]
    assert refused and refused[0]["status"] in (401, 402)
    page = ada_client.get(f"/generations/{job.public_id}/").content.decode()
    assert 'data-testid="read-with"' in page


def test_a_read_refused_with_no_other_key_leaves_the_job_uncertain_with_what_to_check(
    alice: User, two_keys: tuple[ApiKey, ApiKey], fast_jobs: Simulator
) -> None:
    job = queued(alice)
    assert jobs.submit(job.pk) == "submitted"
    fast_jobs.set_key_state(FIRST, "revoked")  # the second key is another account's

    job = run_to_the_end(job)
    assert (job.state, job.error_code) == (State.UNCERTAIN, "read_refused")
    assert job.upstream_task_id in job.error_message
    assert "may have run and been charged" in job.error_message
    assert "EvoLink's dashboard" in job.error_message
    assert spend.charge_of(job).kind == "uncertain"  # never "failed, not charged"


# --- Request ids and charges ------------------------------------------------------------------


def test_the_request_id_of_the_create_is_kept_and_shown_to_team_admins_only(
    alice: User,
    alice_client: Client,
    ada_client: Client,
    fast_jobs: Simulator,
) -> None:
    # A read that fails even after the client's own retries (the poller reads again).
    fast_jobs.fail_reads(503, times=3)
    job = queued(alice)
    jobs.submit(job.pk)
    create_id = fast_jobs.last_request_id
    job = run_to_the_end(job)
    assert job.state == State.COMPLETED
    calls = [(r["call"], r["status"]) for r in job.upstream_request_ids]
    assert calls[0] == ("create", 200) and job.upstream_request_ids[0]["id"] == create_id
    assert ("read", 503) in calls
    url = f"/generations/{job.public_id}/"
    assert create_id in ada_client.get(url).content.decode()
    assert create_id not in alice_client.get(url).content.decode()


@pytest.mark.parametrize("style", ["credits_used", "cost"])
def test_the_charge_is_read_from_credits_used_else_cost_credits(
    alice: User, fast_jobs: Simulator, style: str
) -> None:
    fast_jobs.set_usage_style(style)
    job = queued(alice)
    jobs.submit(job.pk)
    job = run_to_the_end(job)
    assert job.state == State.COMPLETED
    assert job.credits_charged is not None and job.credits_charged > 0
    if style == "cost":
        assert Decimal(str(job.usage["cost"]["credits"])) == job.credits_charged
        assert job.usage["cost"]["usd"] > 0  # kept as it came
        assert "credits_used" not in job.usage
    else:
        assert Decimal(str(job.usage["credits_used"])) == job.credits_charged


def test_the_simulator_answers_gpt_image_1_as_offline_by_default() -> None:
    with Simulator(port=0, task_seconds=0.1) as sim, httpx.Client() as http:
        auth = {"Authorization": f"Bearer {sim.api_key}"}
        url = f"{sim.base_url}/v1/images/generations"
        answer = http.post(url, json={"model": "gpt-image-1", "prompt": "x"}, headers=auth)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "invalid_request"
        assert "not found" in answer.json()["error"]["message"]
        assert answer.headers["x-request-id"]
        sim.bring_online("gpt-image-1")
        answer = http.post(url, json={"model": "gpt-image-1", "prompt": "x"}, headers=auth)
        assert answer.status_code == 200


def test_the_control_routes_set_key_states_and_bring_models_online(simulator: Simulator) -> None:
    faults = f"{simulator.base_url}/_simulator/faults"
    specs = [
        {"fault": "key_state", "key": FIRST, "state": "expired"},
        {"fault": "model_offline", "model": "gpt-image-1.5"},
        {"fault": "usage_style", "style": "cost"},
    ]
    assert httpx.post(faults, json=specs).status_code == 200
    stats = httpx.get(f"{simulator.base_url}/_simulator/stats").json()
    assert stats["offline_models"] == ["gpt-image-1.5"] and stats["usage_style"] == "cost"
    assert list(stats["key_states"].values()) == ["expired"]
    answer = httpx.post(
        f"{simulator.base_url}/v1/images/generations",
        json={"model": "gpt-image-2", "prompt": "x"},
        headers={"Authorization": f"Bearer {FIRST}"},
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (402, "key_expired")
    bad = {"fault": "key_state", "key": FIRST, "state": "sleepy"}
    assert httpx.post(faults, json=bad).status_code == 400
