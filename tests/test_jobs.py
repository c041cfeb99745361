"""The job pipeline against the simulator over real HTTP: submit → poll → archive.

Tests run the tasks the pipeline really enqueued (tests/queue.py) and call one poll
pass at a time, so every step is deterministic.
"""

from __future__ import annotations

import io
import re
import threading
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from playground import catalogue
from playground.evolink import client as evolink
from playground.evolink.simulator import Simulator
from playground.generations import creation, jobs, poller
from playground.generations.models import Generation, Lease, ResultImage, State
from tests.factories import make_generation
from tests.queue import drain, queued_tasks, wait_for

pytestmark = pytest.mark.django_db

CREATE = "POST /v1/images/generations"


def generate(client: Client, capture, **data: str) -> Generation:  # type: ignore[no-untyped-def]
    body = {
        "model": "gpt-image-2",
        "prompt": "a red fox in the snow",
        "size": "custom",
        "width": "1024",
        "height": "640",
        "quality": "low",
        "n": "1",
        "client_token": str(uuid.uuid4()),
    }
    body.update(data)
    with capture(execute=True):
        response = client.post("/t/a/", body)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Generation.objects.latest("id")


def submit_only(generation: Generation) -> None:
    """Run just the submit task (and drop the poller wake-up it enqueues)."""
    (task,) = queued_tasks()
    assert (task["func"], task["args"]) == ("playground.generations.jobs.submit", (generation.pk,))
    jobs.submit(*task["args"])
    queued_tasks()


def run_until_final(pk: int, timeout: float = 15.0) -> Generation:
    """Drain the queue and poll until the job reaches a final state."""
    with poller.Clients() as clients:

        def step() -> bool:
            drain()
            poller.poll_due(clients)
            drain()
            return not Generation.objects.get(pk=pk).is_in_flight

        wait_for(step, timeout=timeout, step=0.05)
    return Generation.objects.get(pk=pk)


def test_a_job_runs_to_completion_and_its_images_are_archived(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, n="2")
    assert generation.state == State.QUEUED
    (task,) = queued_tasks()
    assert (task["func"], task["args"]) == ("playground.generations.jobs.submit", (generation.pk,))
    jobs.submit(*task["args"])
    generation.refresh_from_db()
    assert generation.state == State.RUNNING
    assert generation.upstream_task_id.startswith("task-unified-")
    assert generation.credits_reserved is not None and generation.credits_reserved > 0
    assert generation.submitted_at is not None and generation.next_poll_at is not None

    generation = run_until_final(generation.pk)
    assert generation.state == State.COMPLETED, generation.error_message
    assert generation.images_returned == 2 and generation.progress == 100
    assert generation.upstream_completed_at and generation.finished_at
    assert generation.request_payload == {
        "model": "gpt-image-2",
        "prompt": "a red fox in the snow",
        "size": "1024x640",
        "quality": "low",
        "n": 2,
        "background": "opaque",
        "output_format": "png",
    }
    images = list(generation.images.all())
    assert [i.index for i in images] == [0, 1]
    for image in images:
        assert (image.width, image.height, image.format) == (1024, 640, "PNG")
        with image.file.open("rb") as f:
            data = f.read()
        assert len(data) == image.bytes
        assert Image.open(io.BytesIO(data)).size == (1024, 640)
        with image.thumbnail.open("rb") as f:
            assert max(Image.open(f).size) == jobs.THUMBNAIL_EDGE
    assert fast_jobs.request_count(CREATE) == 1


def test_a_job_that_runs_twice_submits_once(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks)
    assert jobs.submit(generation.pk) == "submitted"
    assert jobs.submit(generation.pk) == "not claimed"
    jobs.enqueue_submit(generation.pk)
    drain()
    assert fast_jobs.request_count(CREATE) == 1


@pytest.mark.parametrize("code", sorted(catalogue.FAILURE_CODES))
def test_each_failure_code_is_shown_with_its_meaning(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks, code: str
) -> None:
    fast_jobs.fail_tasks(code)
    generation = run_until_final(generate(alice_client, django_capture_on_commit_callbacks).pk)
    assert generation.state == State.FAILED
    assert generation.error_code == code
    assert generation.error_message == evolink.EvoLinkError.from_code(code).message
    html = alice_client.get("/t/a/history/").content.decode()
    assert generation.error_message.replace("'", "&#x27;") in html


def test_a_rejected_request_fails_without_retrying(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    fast_jobs.fail_creates(400, times=1)
    generation = run_until_final(generate(alice_client, django_capture_on_commit_callbacks).pk)
    assert generation.state == State.FAILED
    assert fast_jobs.request_count(CREATE) == 1


def test_429_then_success(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    fast_jobs.fail_creates(429, times=1, retry_after=0)
    generation = run_until_final(generate(alice_client, django_capture_on_commit_callbacks).pk)
    assert generation.state == State.COMPLETED
    assert fast_jobs.request_count(CREATE) == 2
    assert fast_jobs.tasks_created == 1


def test_persistent_429_waits_and_the_reconciler_tries_later(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    fast_jobs.fail_creates(429, times=3, retry_after=0)
    generation = generate(alice_client, django_capture_on_commit_callbacks)
    drain()
    generation.refresh_from_db()
    assert generation.state == State.QUEUED  # nothing was created: safe to try later
    assert generation.not_before is not None and fast_jobs.tasks_created == 0
    assert "rate" in generation.error_message.lower() or generation.error_message

    Generation.objects.filter(pk=generation.pk).update(not_before=timezone.now())
    assert jobs.reconcile()["submit"] == 1
    generation = run_until_final(generation.pk)
    assert generation.state == State.COMPLETED
    assert fast_jobs.tasks_created == 1


@pytest.mark.parametrize("fault", ["500", "502", "503", "drop"])
def test_a_create_that_may_have_arrived_is_never_sent_again(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks, fault: str
) -> None:
    if fault == "drop":
        fast_jobs.drop_creates()
    else:
        fast_jobs.fail_creates(int(fault), times=5)
    generation = generate(alice_client, django_capture_on_commit_callbacks)
    drain()
    generation.refresh_from_db()
    assert generation.state == State.UNCERTAIN
    assert "may have received" in generation.error_message
    # Nothing automatic sends it again: not a duplicate delivery, not the reconciler.
    jobs.submit(generation.pk)
    jobs.reconcile()
    drain()
    assert fast_jobs.request_count(CREATE) == 1
    assert fast_jobs.tasks_created == (1 if fault == "drop" else 0)
    html = alice_client.get(f"/generations/{generation.public_id}/").content.decode()
    assert "Submit again (may be billed twice)" in html


def test_only_the_user_submits_an_uncertain_job_again(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    fast_jobs.drop_creates()
    generation = generate(alice_client, django_capture_on_commit_callbacks)
    drain()
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/generations/{generation.public_id}/resubmit/")
    assert response.status_code == 302
    again = Generation.objects.latest("id")
    assert again.pk != generation.pk and again.request_payload == generation.request_payload
    assert run_until_final(again.pk).state == State.COMPLETED
    assert Generation.objects.get(pk=generation.pk).state == State.UNCERTAIN


def test_task_reads_survive_429_and_5xx(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks)
    drain()
    fast_jobs.fail_reads(503, times=2)
    fast_jobs.fail_reads(429, times=1, retry_after=0)
    assert run_until_final(generation.pk).state == State.COMPLETED


def test_fewer_images_than_requested_is_recorded(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    fast_jobs.limit_results(1)
    generation = run_until_final(
        generate(alice_client, django_capture_on_commit_callbacks, n="3").pk
    )
    assert generation.state == State.COMPLETED
    assert (generation.n, generation.images_returned, generation.images.count()) == (3, 1, 1)


def test_results_stay_viewable_after_the_upstream_links_expired(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = run_until_final(generate(alice_client, django_capture_on_commit_callbacks).pk)
    fast_jobs.expire_results()
    with (
        evolink.Client(fast_jobs.api_key, fast_jobs.base_url) as client,
        pytest.raises(evolink.EvoLinkError),
    ):
        client.download(generation.result_urls[0], max_bytes=jobs.MAX_RESULT_BYTES)
    full = alice_client.get(f"/generations/{generation.public_id}/images/0")
    assert full.status_code == 200 and full["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(b"".join(full.streaming_content))).size == (1024, 640)
    download = alice_client.get(f"/generations/{generation.public_id}/images/0?download=1")
    assert download["Content-Disposition"].startswith("attachment")
    thumb = alice_client.get(f"/generations/{generation.public_id}/images/0/thumbnail")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    page = alice_client.get(f"/generations/{generation.public_id}/").content.decode()
    assert fast_jobs.base_url not in page  # the browser never sees upstream URLs


def test_a_failed_download_is_retried_until_the_links_expire(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks)
    submit_only(generation)
    with poller.Clients() as clients:

        def archiving() -> bool:
            poller.poll_due(clients)
            return Generation.objects.get(pk=generation.pk).state == State.ARCHIVING

        wait_for(archiving)
    fast_jobs.expire_results()
    assert [t["func"] for t in queued_tasks()] == ["playground.generations.jobs.archive"]
    assert jobs.archive(generation.pk) == "retry later"
    generation.refresh_from_db()
    assert generation.state == State.ARCHIVING and generation.lease_until > timezone.now()
    assert jobs.archive(generation.pk) == "not claimed"  # the lease holds it back

    Generation.objects.filter(pk=generation.pk).update(
        lease_until=timezone.now(), results_expire_at=timezone.now()
    )
    assert jobs.archive(generation.pk) == "expired"
    generation.refresh_from_db()
    assert generation.state == State.FAILED
    assert "before EvoLink's links expired" in generation.error_message


def test_an_unknown_task_upstream_fails_the_job(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks)
    submit_only(generation)
    fast_jobs.reset()  # the simulator forgets every task
    generation = run_until_final(generation.pk)
    assert generation.state == State.FAILED
    assert generation.error_code


def test_the_local_deadline_stops_polling_and_check_again_resumes(
    alice_client: Client, fast_jobs: Simulator, settings, django_capture_on_commit_callbacks
) -> None:
    fast_jobs.slow_tasks(1.5)
    settings.PLAYGROUND_POLL_DEADLINE_SECONDS = 0.3
    generation = run_until_final(generate(alice_client, django_capture_on_commit_callbacks).pk)
    assert generation.state == State.TIMED_OUT
    assert "may still finish" in generation.error_message

    settings.PLAYGROUND_POLL_DEADLINE_SECONDS = 60
    response = alice_client.post(f"/generations/{generation.public_id}/check-again/")
    assert response.status_code == 302
    assert run_until_final(generation.pk).state == State.COMPLETED
    assert fast_jobs.request_count(CREATE) == 1


def test_the_reconciler_sweeps_up_after_vanished_workers(alice, fast_jobs: Simulator) -> None:
    old = timezone.now() - timedelta(minutes=5)

    def row(state: str, **extra: object) -> Generation:
        return make_generation(alice, state=state, created_at=old, updated_at=old, **extra)

    lost_in_queue = row(State.QUEUED)
    died_mid_post = row(State.SUBMITTING)
    died_mid_download = row(State.ARCHIVING, lease_until=old)
    row(State.RUNNING, upstream_task_id="task-unified-1-abc", next_poll_at=old)

    counts = jobs.reconcile()
    assert counts == {"submit": 1, "uncertain": 1, "archive": 1}
    died_mid_post.refresh_from_db()
    assert died_mid_post.state == State.UNCERTAIN  # never re-sent: it may exist upstream
    funcs = sorted((t["func"].rsplit(".", 1)[-1], t["args"]) for t in queued_tasks())
    assert funcs == [
        ("archive", (died_mid_download.pk,)),
        ("submit", (lost_in_queue.pk,)),
    ]


def test_one_poller_at_a_time(db: None) -> None:
    assert Lease.acquire("poller", "a", 60)
    assert not Lease.acquire("poller", "b", 60)
    assert not Lease.is_free("poller")
    Lease.release("poller", "a")
    assert Lease.acquire("poller", "b", 60)


@pytest.mark.django_db(transaction=True)
def test_the_poller_thread_polls_and_archives_without_any_worker(
    alice, fast_jobs: Simulator
) -> None:
    """No task runs here: the thread alone reads the jobs and archives them in its pool."""
    pks = [make_generation(alice, prompt="many", size="1024x640").pk for _ in range(12)]
    for pk in pks:
        assert jobs.submit(pk) == "submitted"
    thread = poller.PollerThread()
    thread.start()
    try:
        wait_for(
            lambda: (
                set(Generation.objects.filter(pk__in=pks).values_list("state", flat=True))
                == {State.COMPLETED}
            ),
            timeout=30,
        )
        assert not Lease.is_free(poller.LEASE)
    finally:
        thread.stop()
    assert not thread.is_alive()
    assert Lease.is_free(poller.LEASE)  # handed back on stop, not left to lapse
    assert queued_tasks() == []  # nothing waited for a worker slot
    assert fast_jobs.request_count(CREATE) == 12
    assert ResultImage.objects.filter(generation__in=pks).count() == 12


@pytest.mark.django_db(transaction=True)
def test_a_standby_poller_takes_over_when_the_holder_stops(alice, fast_jobs: Simulator) -> None:
    first, second = poller.PollerThread(), poller.PollerThread()
    first.start()
    try:
        wait_for(first.holding.is_set)
        second.start()
        pk = make_generation(alice, prompt="after the handover", size="1024x640").pk
        assert not second.holding.is_set()  # one poller at a time
        first.stop()
        wait_for(second.holding.is_set, timeout=5)
        assert jobs.submit(pk) == "submitted"
        wait_for(lambda: Generation.objects.get(pk=pk).state == State.COMPLETED, timeout=20)
    finally:
        first.stop()
        second.stop()
    assert Lease.is_free(poller.LEASE)


def test_the_archive_pool_runs_each_job_once_at_a_time(
    alice, fast_jobs: Simulator, monkeypatch
) -> None:
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def slow_archive(pk: int) -> str:
        runs.append(pk)
        started.set()
        release.wait(5)
        return "completed"

    monkeypatch.setattr(jobs, "archive", slow_archive)
    archiver = poller.Archiver(threads=2)
    archiver.submit(7)
    assert started.wait(5)
    archiver.submit(7)  # still running: not started twice
    release.set()
    archiver.shutdown(5)
    assert runs == [7]


def test_a_completed_task_without_images_fails_with_its_meaning(alice) -> None:
    job = make_generation(alice, state=State.RUNNING, upstream_task_id="task-unified-1-x")
    empty = evolink.Task(id="task-unified-1-x", status="completed", results=())
    poller.apply_poll(job.pk, 0, None, empty)
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.FAILED, "generation_failed_no_content")
    assert (
        job.error_message == evolink.EvoLinkError.from_code("generation_failed_no_content").message
    )


def test_re_run_asks_first_with_the_estimate_and_returns_to_the_studio(
    alice_client: Client, alice, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    original = make_generation(
        alice,
        prompt="a fox, again",
        size="1024x1536",
        quality="high",
        n=2,
        state=State.COMPLETED,
        estimated_credits="12.5",
    )
    detail = alice_client.get(f"/generations/{original.public_id}/").content.decode()
    confirm_url = f"/generations/{original.public_id}/resubmit/"
    assert f'href="{confirm_url}"' in detail  # a link to the question, not a POST

    page = alice_client.get(confirm_url)
    html = page.content.decode()
    assert page.status_code == 200 and "Run job #" in html and "a fox, again" in html
    # The estimate of the new job, from today's prices, before anything is stored.
    form = creation.rerun_form(original, [])
    assert form.is_valid(), form.errors
    estimate = creation.estimate_of(form)
    shown = re.search(r'data-testid="rerun-estimate">([^<]+)<', html).group(1)
    assert f"(${estimate.total_usd})" in shown, shown
    assert "for 2 images." in shown
    assert Generation.objects.count() == 1 and fast_jobs.request_count(CREATE) == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(confirm_url)
    assert response.status_code == 302 and response["Location"] == "/t/a/"
    again = Generation.objects.latest("id")
    assert again.pk != original.pk and again.prompt == "a fox, again" and again.n == 2
    studio = alice_client.get("/t/a/").content.decode()
    assert f"sent again as job #{again.number}" in studio
