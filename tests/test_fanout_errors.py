"""The key rules of EvoLink's error codes hold per upstream task of a split job (GPT Image
1.5, one task of n = 1 per image): a key refused this model is skipped for every part,
a model EvoLink no longer offers fails the whole job once and "Not charged", a part's
read refused with 401/402/403 reads on with another key (else it is uncertain, never
"failed, not charged"), and each part's x-request-id is kept. Against the simulator over
real HTTP."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail

from playground.billing.models import ApiKey
from playground.evolink.simulator import Simulator
from playground.generations import jobs, spend
from playground.generations.models import Generation, PartState, State, UpstreamTask
from playground.teams.models import ModelNotice
from tests.factories import make_generation
from tests.fixtures_keys import FIRST, SECOND
from tests.queue import run_to_the_end

pytestmark = pytest.mark.django_db

CREATE = "POST /v1/images/generations"


def split_job(owner: User, n: int = 3) -> Generation:
    return make_generation(
        owner, state=State.QUEUED, model="gpt-image-1.5", size="1024x1024", n=n, prompt="foxes"
    )


def parts(job: Generation) -> list[UpstreamTask]:
    return list(UpstreamTask.objects.filter(generation=job).order_by("index"))


def test_a_key_refused_the_model_is_skipped_for_every_part(
    alice: User, two_keys: tuple[ApiKey, ApiKey], fast_jobs: Simulator
) -> None:
    first, second = two_keys
    fast_jobs.deny_model(FIRST, "gpt-image-1.5")
    job = split_job(alice)

    assert jobs.submit(job.pk) == "submitted"
    job = run_to_the_end(job)

    assert job.state == State.COMPLETED and job.images.count() == 3
    assert {p.api_key_id for p in parts(job)} == {second.pk}
    first.refresh_from_db()
    assert first.enabled and "gpt-image-1.5" in first.denied_models  # recorded, kept on
    # The first part tried the first key (refused: nothing created); the rest skipped it.
    assert fast_jobs.request_count(CREATE) == 4 and fast_jobs.tasks_created == 3


def test_a_model_evolink_no_longer_offers_fails_the_split_job_once_not_charged(
    alice: User, ada: User, two_keys: tuple[ApiKey, ApiKey], fast_jobs: Simulator
) -> None:
    fast_jobs.take_offline("gpt-image-1.5")
    job = split_job(alice)

    jobs.submit(job.pk)
    job.refresh_from_db()

    assert (job.state, job.error_code) == (State.FAILED, "model_not_found")
    assert "does not offer GPT Image 1.5 any more" in job.error_message
    assert spend.charge_of(job).kind == "not_charged"
    assert {p.state for p in parts(job)} == {PartState.FAILED}
    assert fast_jobs.request_count(CREATE) == 1 and fast_jobs.tasks_created == 0
    assert ModelNotice.objects.count() == 1 and len(mail.outbox) == 1
    assert job.upstream_request_ids[0]["status"] == 400


def test_a_part_read_refused_reads_on_with_another_key_of_the_account(
    alice: User, two_keys: tuple[ApiKey, ApiKey], fast_jobs: Simulator
) -> None:
    first, second = two_keys
    fast_jobs.share_account(FIRST, SECOND)
    job = split_job(alice)
    assert jobs.submit(job.pk) == "submitted"
    fast_jobs.set_key_state(FIRST, "revoked")  # 401 on every later read

    job = run_to_the_end(job)

    assert job.state == State.COMPLETED and job.images.count() == 3, job.error_message
    assert all(p.api_key_id == first.pk and p.read_api_key_id == second.pk for p in parts(job))
    assert spend.charge_of(job).kind == "charged"
    assert any(r["call"] == "read" and r["status"] == 401 for r in job.upstream_request_ids)


def test_a_part_read_refused_with_no_other_key_is_uncertain_never_not_charged(
    alice: User, two_keys: tuple[ApiKey, ApiKey], fast_jobs: Simulator
) -> None:
    job = split_job(alice, n=2)
    assert jobs.submit(job.pk) == "submitted"
    fast_jobs.set_key_state(FIRST, "revoked")  # the second key is another account's

    job = run_to_the_end(job)

    assert {p.state for p in parts(job)} == {PartState.UNCERTAIN}
    assert all(p.error_code == "read_refused" and p.task_id in p.error_message for p in parts(job))
    assert job.state == State.UNCERTAIN
    assert spend.charge_of(job).kind == "uncertain"


def test_every_part_keeps_its_request_id(
    alice: User, two_keys: tuple[ApiKey, ApiKey], fast_jobs: Simulator
) -> None:
    job = split_job(alice)
    jobs.submit(job.pk)
    job.refresh_from_db()

    ids = [p.request_id for p in parts(job)]
    assert all(i.startswith("req_") for i in ids) and len(set(ids)) == 3
    creates = [r["id"] for r in job.upstream_request_ids if r["call"] == "create"]
    assert creates == ids
