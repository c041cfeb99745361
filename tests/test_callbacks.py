"""EvoLink's callbacks: authenticated by the URL's HMAC, and only a hint to poll now."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from playground.evolink import client as evolink
from playground.evolink.simulator import Simulator
from playground.generations import callbacks, jobs, poller
from playground.generations.models import Generation, State
from tests.factories import make_generation
from tests.queue import queued_tasks, wait_for

pytestmark = pytest.mark.django_db


def running_job(owner, **extra) -> Generation:  # type: ignore[no-untyped-def]
    return make_generation(
        owner,
        state=State.RUNNING,
        upstream_task_id="task-unified-1-x",
        **{"next_poll_at": timezone.now() + timedelta(minutes=5), **extra},
    )


@pytest.mark.parametrize(
    ("public_base", "mode", "sent"),
    [
        ("https://playground.example.com", "auto", True),
        ("http://playground.example.com", "auto", False),
        ("https://10.0.0.5", "auto", False),
        ("https://127.0.0.1:8000", "auto", False),
        ("https://playground.example.com", "on", True),
        # EvoLink takes https callbacks only (reference, August 2026): even "on" never
        # sends it a plain-http one ...
        ("http://127.0.0.1:8000", "on", False),
        ("https://playground.example.com", "off", False),
    ],
)
def test_callbacks_are_only_requested_where_evolink_can_reach_us(
    settings, public_base: str, mode: str, sent: bool
) -> None:
    settings.EVOLINK_BASE_URL = "https://api.evolink.ai"
    settings.PUBLIC_BASE_URL, settings.EVOLINK_CALLBACKS = public_base, mode
    assert callbacks.enabled() is sent


def test_only_the_local_simulator_is_sent_a_plain_http_callback(settings) -> None:
    # ... only the simulator on loopback, which accepts them for local runs.
    settings.PUBLIC_BASE_URL, settings.EVOLINK_CALLBACKS = "http://127.0.0.1:8000", "on"
    settings.EVOLINK_BASE_URL = "http://127.0.0.1:8765"
    assert callbacks.enabled() is True
    settings.EVOLINK_CALLBACKS = "auto"
    assert callbacks.enabled() is False


def test_a_valid_callback_only_moves_the_next_poll(alice) -> None:  # type: ignore[no-untyped-def]
    job = running_job(alice)
    url = callbacks.url_for(job.public_id)
    path = url.split("://", 1)[1].split("/", 1)[1]
    # The body is ignored: a forged "completed" changes nothing but the poll time.
    response = Client().post(
        f"/{path}",
        {"status": "completed", "results": ["https://x"]},
        content_type="application/json",
    )
    assert response.status_code == 204
    job.refresh_from_db()
    assert job.state == State.RUNNING and job.result_urls == []
    assert job.next_poll_at <= timezone.now()
    assert queued_tasks() == []  # the poller reads it at its next pass


def test_an_invalid_callback_is_refused(alice) -> None:  # type: ignore[no-untyped-def]
    job = running_job(alice)
    before = job.next_poll_at
    client = Client()
    assert client.post(f"/hooks/evolink/{job.public_id}/{'0' * 32}").status_code == 404
    other = running_job(alice)
    stolen = callbacks.token(other.public_id)
    assert client.post(f"/hooks/evolink/{job.public_id}/{stolen}").status_code == 404
    assert (
        client.get(f"/hooks/evolink/{job.public_id}/{callbacks.token(job.public_id)}").status_code
        == 405
    )
    job.refresh_from_db()
    assert job.next_poll_at == before


@pytest.mark.django_db(transaction=True)
def test_the_simulator_calls_back_and_the_job_is_polled_at_once(
    alice, fast_jobs: Simulator, live_server, settings
) -> None:
    settings.PUBLIC_BASE_URL, settings.EVOLINK_CALLBACKS = live_server.url, "on"
    settings.PLAYGROUND_POLL_SECONDS = 600  # only the callback can make it poll again
    settings.PLAYGROUND_FIRST_POLL_SECONDS = 600
    job = make_generation(alice, prompt="call me back", size="1024x640")
    assert jobs.submit(job.pk) == "submitted"
    job.refresh_from_db()
    assert job.request_payload["callback_url"] == callbacks.url_for(job.public_id)
    wait_for(lambda: Generation.objects.get(pk=job.pk).next_poll_at <= timezone.now(), timeout=10)
    assert fast_jobs.callbacks and fast_jobs.callbacks[-1]["status"] == 204


def test_a_callback_during_a_read_is_not_overwritten_by_that_read(alice) -> None:  # type: ignore[no-untyped-def]
    job = running_job(alice, next_poll_at=timezone.now() - timedelta(seconds=1))
    due_at = job.next_poll_at  # due: picked by the poller
    still_running = evolink.Task(id=job.upstream_task_id, status="processing", progress=50)
    # The poller picked the row and its read is on its way when the callback lands.
    assert jobs.poll_soon(job.pk)
    hinted = Generation.objects.get(pk=job.pk).next_poll_at
    poller.apply_poll(job.pk, job.polls, None, still_running, due_at)
    job.refresh_from_db()
    assert job.next_poll_at == hinted <= timezone.now()  # read again at the next pass
    assert job.progress == 50 and job.polls == 1
    # Without a callback, the read schedules the next one at the cadence.
    poller.apply_poll(job.pk, job.polls, None, still_running, job.next_poll_at)
    job.refresh_from_db()
    assert job.next_poll_at > timezone.now()


def test_a_pass_of_reads_is_written_at_once_and_keeps_a_callbacks_hint(alice) -> None:  # type: ignore[no-untyped-def]
    past = timezone.now() - timedelta(seconds=1)
    quiet, hinted, failing = (running_job(alice, next_poll_at=past) for _ in range(3))
    now = timezone.now()
    readings = [
        poller.Reading.of(
            job.pk, 0, past, evolink.Task(id="t", status="processing", progress=40), now
        )
        for job in (quiet, hinted)
    ]
    readings.append(
        poller.Reading.of(failing.pk, 0, past, evolink.EvoLinkError.from_code("timeout"), now)
    )
    assert None not in readings
    assert jobs.poll_soon(hinted.pk)  # the callback lands while the reads are out
    hint = Generation.objects.get(pk=hinted.pk).next_poll_at
    poller.record_readings(readings, now)

    quiet.refresh_from_db()
    assert (quiet.polls, quiet.progress, quiet.upstream_status) == (1, 40, "processing")
    assert quiet.processing_at == now and quiet.updated_at == now
    assert quiet.next_poll_at > now  # read again at the cadence
    assert Generation.objects.get(pk=hinted.pk).next_poll_at == hint <= timezone.now()
    failing.refresh_from_db()  # a failed read only moves the schedule
    assert (failing.polls, failing.progress, failing.upstream_status) == (1, 0, "")
    assert failing.next_poll_at > now
    # An ending is not a reading: apply_poll takes it (once per job).
    done = evolink.Task(id="t", status="completed", progress=100, results=("https://x",))
    assert poller.Reading.of(quiet.pk, 1, past, done, now) is None
