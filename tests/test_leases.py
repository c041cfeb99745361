"""The one lease rule (playground/lib/leases.py), on the rows that use it: a job
being archived, an export being built, and the poller's named lease.

A crash is simulated as it leaves the database: a holder that stopped writing, with
its `until` in the future (still held) or in the past (lapsed).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from playground.evolink.simulator import Simulator
from playground.generations import jobs, poller
from playground.generations.models import Generation, Lease, State
from playground.lib import leases
from playground.lib.leases import ROWS
from tests.factories import make_generation
from tests.queue import wait_for

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def lapse(job: Generation) -> None:
    """As a dead holder leaves a job once its lease ran out."""
    Generation.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def job(alice: User) -> Generation:
    return make_generation(alice, state=State.ARCHIVING)


def archiving(job: Generation) -> Any:
    return Generation.objects.filter(pk=job.pk, state=State.ARCHIVING)


def test_a_free_lease_is_taken_with_its_changes_in_one_update(job: Generation) -> None:
    assert ROWS.take(archiving(job), "a", MINUTE, download_attempts=3)
    job.refresh_from_db()
    assert job.lease_holder == "a" and job.lease_until > timezone.now()
    assert job.download_attempts == 3


def test_a_live_lease_is_refused_whoever_asks(job: Generation) -> None:
    assert ROWS.take(archiving(job), "a", MINUTE)
    assert not ROWS.take(archiving(job), "b", MINUTE, download_attempts=9)
    assert not ROWS.take(archiving(job), "a", MINUTE)  # taking is not renewing
    job.refresh_from_db()
    assert job.lease_holder == "a" and job.download_attempts == 0
    assert not ROWS.is_free(archiving(job))


def test_an_expired_lease_is_taken_over(job: Generation) -> None:
    assert ROWS.take(archiving(job), "dead", MINUTE)
    lapse(job)
    assert ROWS.is_free(archiving(job))
    assert ROWS.take(archiving(job), "b", MINUTE)
    assert Generation.objects.get(pk=job.pk).lease_holder == "b"


def test_the_state_is_checked_with_the_lease(job: Generation) -> None:
    Generation.objects.filter(pk=job.pk).update(state=State.COMPLETED)
    assert not ROWS.take(archiving(job), "a", MINUTE)


def test_only_the_holder_renews(job: Generation) -> None:
    assert ROWS.take(archiving(job), "a", timedelta(seconds=5))
    assert not ROWS.renew(archiving(job), "b", MINUTE)
    assert ROWS.renew(archiving(job), "a", MINUTE, error_message="still at it")
    job.refresh_from_db()
    assert job.lease_until > timezone.now() + timedelta(seconds=50)
    assert job.error_message == "still at it"


def test_a_lapsed_lease_is_renewed_by_its_holder_until_someone_takes_it(job: Generation) -> None:
    assert ROWS.take(archiving(job), "slow", MINUTE)
    lapse(job)
    assert ROWS.renew(archiving(job), "slow", MINUTE)  # nobody took it meanwhile
    lapse(job)
    assert ROWS.take(archiving(job), "b", MINUTE)
    assert not ROWS.renew(archiving(job), "slow", MINUTE)  # lost: stop, write nothing


def test_release_by_the_holder_only_frees_the_row(job: Generation) -> None:
    assert ROWS.take(archiving(job), "a", MINUTE)
    assert not ROWS.release(archiving(job), "b", state=State.COMPLETED)
    assert Generation.objects.get(pk=job.pk).state == State.ARCHIVING
    assert ROWS.release(archiving(job), "a", error_message="done")
    job.refresh_from_db()
    assert (job.lease_holder, job.lease_until, job.error_message) == ("", None, "done")
    assert ROWS.take(archiving(job), "c", MINUTE)


def test_a_claim_by_state_ignores_until_but_needs_a_holder(alice: User) -> None:
    """A queued row is nobody's: its `until` (an export's re-send pacing) does not hold it."""
    queued = make_generation(alice, state=State.QUEUED, lease_until=timezone.now() + MINUTE)
    rows = Generation.objects.filter(pk=queued.pk, state=State.QUEUED)
    with pytest.raises(ValueError):
        ROWS.claim(rows, "", MINUTE)
    assert ROWS.claim(rows, leases.new_holder(), MINUTE, state=State.SUBMITTING)
    assert not ROWS.claim(rows, leases.new_holder(), MINUTE, state=State.SUBMITTING)


def test_the_poller_lease_follows_the_same_rule(db: None) -> None:
    assert Lease.acquire("test", "a", 60)
    assert not Lease.acquire("test", "b", 60)
    assert not Lease.renew("test", "b", 60)
    assert Lease.renew("test", "a", 60)
    # A SIGKILLed holder: its lease stays until it lapses, then a standby takes it.
    Lease.objects.filter(name="test").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Lease.is_free("test")
    assert Lease.acquire("test", "b", 60)
    assert not Lease.renew("test", "a", 60)
    assert not Lease.release("test", "a")
    assert Lease.release("test", "b")
    assert Lease.is_free("test")


def test_an_archive_that_lost_its_lease_leaves_the_job_to_the_new_holder(
    alice: User, fast_jobs: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archiver that stalled past its lease while another took the job over stops
    before its next image and does not end the job under the new holder."""
    job = make_generation(alice, prompt="two images", size="1024x640", n=2)
    assert jobs.submit(job.pk) == "submitted"
    with poller.Clients() as clients:

        def archiving_now() -> bool:
            poller.poll_due(clients)
            return Generation.objects.get(pk=job.pk).state == State.ARCHIVING

        wait_for(archiving_now)
    save = jobs.save_result

    def save_then_lose_the_lease(*args: Any) -> Any:
        saved = save(*args)
        Generation.objects.filter(pk=job.pk).update(lease_holder="another-archiver")
        return saved

    monkeypatch.setattr(jobs, "save_result", save_then_lose_the_lease)
    assert jobs.archive(job.pk) == "lost its lease"
    job.refresh_from_db()
    assert job.state == State.ARCHIVING and job.lease_holder == "another-archiver"
    assert job.images.count() == 1
