"""GPT Image 1.5 takes n = 1 per request (reference, August 2026): a job of several
images is sent as one upstream task of n = 1 per image, all in one job. Against the
simulator as a real server, which refuses n > 1 for 1.5 as EvoLink does."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from playground import catalogue, pricing
from playground.evolink.client import ERRORS, IDEMPOTENCY_KEY
from playground.evolink.simulator import Simulator
from playground.generations import fanout, jobs, poller, spend
from playground.generations.models import Generation, PartState, State, UpstreamTask
from tests.queue import drain, queued_tasks, wait_for

pytestmark = pytest.mark.django_db

CREATE = "POST /v1/images/generations"
PROMPT = "a red fox in the snow"


def generate(client: Client, capture, model: str = "gpt-image-1.5", n: int = 4) -> Generation:  # type: ignore[no-untyped-def]
    body = {
        "model": model,
        "prompt": PROMPT,
        "quality": "low",
        "n": str(n),
        "client_token": str(uuid.uuid4()),
    }
    if model == "gpt-image-2":
        body.update({"size": "custom", "width": "1024", "height": "640"})
    else:
        body["size"] = "1024x1024"
    with capture(execute=True):
        response = client.post("/t/a/", body)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Generation.objects.latest("id")


def run_until_final(pk: int, timeout: float = 20.0) -> Generation:
    with poller.Clients() as clients:

        def step() -> bool:
            drain()
            poller.poll_due(clients)
            drain()
            return not Generation.objects.get(pk=pk).is_in_flight

        wait_for(step, timeout=timeout, step=0.05)
    return Generation.objects.get(pk=pk)


def parts_of(generation: Generation) -> list[UpstreamTask]:
    return list(UpstreamTask.objects.filter(generation=generation).order_by("index"))


class Crash(BaseException):
    """A worker SIGKILLed: nothing after it runs, no handler sees it."""


def test_4_images_asked_are_4_upstream_tasks_of_n_1_in_one_job(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, n=4)
    spec = catalogue.get_model("gpt-image-1.5")
    one = pricing.estimate(spec, quality="low", size="1024x1024", n=1, prompt=PROMPT)
    # The estimate is exactly four one-image requests, each paying for the prompt.
    assert generation.estimated_credits == one.total_credits * 4

    done = run_until_final(generation.pk)

    assert done.state == State.COMPLETED, done.error_message
    assert (done.n, done.images_returned, done.error_message) == (4, 4, "")
    assert sorted(done.images.values_list("index", flat=True)) == [0, 1, 2, 3]
    assert Generation.objects.count() == 1  # one job in the history
    creates = fast_jobs.creates
    assert [(c["model"], c["n"]) for c in creates] == [("gpt-image-1.5", 1)] * 4
    assert fast_jobs.request_count(CREATE) == fast_jobs.tasks_created == 4
    # One stable Idempotency-Key per upstream task, stored with the part before its POST.
    parts = parts_of(done)
    keys = [c["idempotency_key"] for c in creates]
    assert keys == [p.idempotency_key for p in parts]
    assert len(set(keys)) == 4 and all(IDEMPOTENCY_KEY.fullmatch(k) for k in keys)
    assert keys[2] == f"gen-{done.public_id.hex}-part-2"
    assert {p.task_id for p in parts} == {c["task_id"] for c in creates}
    # The charge is the sum of the parts' charges.
    assert done.credits_charged == sum((p.credits_charged for p in parts), Decimal(0))
    assert spend.charge_of(done).kind == "charged"


@pytest.mark.parametrize("model", ["gpt-image-1", "gpt-image-2"])
def test_the_other_models_keep_sending_n_in_one_request(
    model: str, alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, model=model, n=3)

    done = run_until_final(generation.pk)

    assert done.state == State.COMPLETED
    assert [(c["model"], c["n"]) for c in fast_jobs.creates] == [(model, 3)]
    assert fast_jobs.creates[0]["idempotency_key"] == f"gen-{done.public_id.hex}"
    assert not UpstreamTask.objects.exists()


def test_a_429_retry_of_the_same_job_sends_the_same_idempotency_key(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, model="gpt-image-2")
    fast_jobs.fail_creates(429, times=3, retry_after=0)
    (task,) = queued_tasks()
    jobs.submit(*task["args"])
    assert Generation.objects.get(pk=generation.pk).state == State.QUEUED  # retried later
    Generation.objects.filter(pk=generation.pk).update(not_before=timezone.now())
    jobs.submit(generation.pk)

    assert Generation.objects.get(pk=generation.pk).state == State.RUNNING
    keys = {c["idempotency_key"] for c in fast_jobs.creates}
    assert keys == {f"gen-{generation.public_id.hex}"}


@pytest.mark.parametrize("claimed_third", [False, True])
def test_a_crash_between_the_second_and_third_post_is_recovered_without_a_duplicate(
    claimed_third: bool,
    alice_client: Client,
    fast_jobs: Simulator,
    django_capture_on_commit_callbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker dies after the second task was created: before claiming the third
    part, or after claiming it but before (or while) sending it, which we cannot tell
    apart. A claimed part is never sent again (uncertain); parts never claimed are."""
    generation = generate(alice_client, django_capture_on_commit_callbacks, n=4)
    posted = fanout.post_part

    def dies_at_the_third(payer, generation, part, **options):  # type: ignore[no-untyped-def]
        if part.index == 2:
            raise Crash
        return posted(payer, generation, part, **options)

    real_send = fanout.send_part

    def dies_before_claiming_the_third(generation, part, payers, **options):  # type: ignore[no-untyped-def]
        if part.index == 2:
            raise Crash
        return real_send(generation, part, payers, **options)

    if claimed_third:
        monkeypatch.setattr(fanout, "post_part", dies_at_the_third)
    else:
        monkeypatch.setattr(fanout, "send_part", dies_before_claiming_the_third)
    (task,) = queued_tasks()
    with pytest.raises(Crash):
        jobs.submit(*task["args"])
    monkeypatch.undo()
    assert fast_jobs.request_count(CREATE) == 2
    states = [p.state for p in parts_of(generation)]
    third = PartState.SUBMITTING if claimed_third else PartState.PENDING
    assert states == [PartState.RUNNING, PartState.RUNNING, third, PartState.PENDING]

    # Nothing happens while the dead worker's claims could still be alive.
    assert jobs.reconcile()["uncertain"] == 0
    assert not queued_tasks()
    # Their leases lapse (as after SUBMITTING_STALE): the reconciler takes over.
    lapsed = timezone.now() - timedelta(seconds=1)
    Generation.objects.filter(pk=generation.pk).update(lease_until=lapsed)
    UpstreamTask.objects.filter(generation=generation).update(lease_until=lapsed)
    jobs.reconcile()

    done = run_until_final(generation.pk)

    tasks = [c["task_id"] for c in fast_jobs.creates]
    assert len(tasks) == len(set(tasks))  # no part was sent twice
    keys = [c["idempotency_key"] for c in fast_jobs.creates]
    assert len(keys) == len(set(keys))
    if claimed_third:
        assert fast_jobs.request_count(CREATE) == 3  # the claimed part was not re-sent
        assert [p.state for p in parts_of(done)][2] == PartState.UNCERTAIN
        assert done.state == State.COMPLETED and done.images_returned == 3
        assert done.error_message.startswith("3 of 4 images were made; 1 may have reached")
    else:
        assert fast_jobs.request_count(CREATE) == 4
        assert (done.state, done.images_returned, done.error_message) == (
            State.COMPLETED,
            4,
            "",
        )


def test_a_failed_task_is_reported_as_3_of_4_images(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, n=4)
    fast_jobs.fail_tasks("content_policy_violation", times=1)

    done = run_until_final(generation.pk)

    assert done.state == State.COMPLETED
    assert (done.images_returned, done.error_code) == (3, "partial")
    reason = ERRORS["content_policy_violation"].message
    assert done.error_message == f"3 of 4 images were made; 1 failed: {reason}"
    assert sorted(done.images.values_list("index", flat=True)) == [1, 2, 3]
    # The failed task was not charged (EvoLink refunds it): the three others are.
    charged = [p.credits_charged for p in parts_of(done) if p.state == PartState.COMPLETED]
    assert done.credits_charged == sum(charged, Decimal(0))


def test_every_task_failing_fails_the_job_not_charged(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, n=2)
    fast_jobs.fail_tasks("content_policy_violation", times=2)

    done = run_until_final(generation.pk)

    assert done.state == State.FAILED
    assert done.error_code == "content_policy_violation"
    assert done.error_message.startswith("0 of 2 images were made; 2 failed: ")
    assert spend.charge_of(done).kind == "not_charged"


def test_cancel_stops_the_tasks_not_sent_and_says_how_many_images_were_made(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, n=4)
    # Two tasks go out, then a 429 (a longer wait than the client sleeps inline): the
    # job waits in the queue to send its parts 2 and 3.
    fast_jobs.delay_creates(0, times=2)
    fast_jobs.fail_creates(429, retry_after=600)
    (task,) = queued_tasks()
    assert jobs.submit(*task["args"]) == "retry later"
    job = Generation.objects.get(pk=generation.pk)
    assert job.state == State.QUEUED and job.not_before is not None
    assert [p.state for p in parts_of(job)][2:] == [PartState.PENDING, PartState.PENDING]

    response = alice_client.post(reverse("generation_cancel", args=[job.public_id]))
    assert response.status_code in (204, 302)

    done = run_until_final(job.pk)
    assert fast_jobs.request_count(CREATE) == 3  # two tasks, one 429; nothing after Cancel
    assert done.state == State.COMPLETED
    assert done.images_returned == 2
    assert done.error_message == (
        "2 of 4 images were made; 2 cancelled before they were sent (not charged)."
    )


def test_the_budget_reserves_the_whole_job_until_every_task_holds_its_share(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, n=4)
    assert spend.charge_of(generation) == spend.Charge(generation.estimated_credits, "estimated")
    fast_jobs.slow_tasks(30, times=4)
    drain()
    job = Generation.objects.get(pk=generation.pk)
    assert job.state == State.RUNNING
    reserved = sum((p.credits_reserved for p in parts_of(job)), Decimal(0))
    assert job.credits_reserved == reserved
    assert spend.charge_of(job) == spend.Charge(reserved, "reserved")


def test_the_history_shows_one_job_with_its_images_as_they_arrive(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, n=3)
    fast_jobs.slow_tasks(0.1, times=1)
    fast_jobs.slow_tasks(60, times=2)
    drain()
    with poller.Clients() as clients:

        def first_image() -> bool:
            poller.poll_due(clients)
            drain()
            return Generation.objects.get(pk=generation.pk).images.count() == 1

        wait_for(first_image, timeout=10)
    job = Generation.objects.get(pk=generation.pk)
    assert job.state == State.RUNNING  # two images still on their way

    page = alice_client.get("/t/a/").content.decode()
    assert page.count(f'id="generation-{job.pk}"') == 1
    (image,) = job.images.all()
    assert reverse("result_thumbnail", args=[job.public_id, image.index]) in page


def test_a_callback_names_the_part_to_read(
    fast_jobs: Simulator, alice_client: Client, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, n=2)
    fast_jobs.slow_tasks(60, times=2)
    drain()
    far = timezone.now() + timedelta(hours=1)
    UpstreamTask.objects.filter(generation=generation).update(next_poll_at=far)
    second = parts_of(generation)[1]

    assert jobs.poll_soon(generation.pk, second.task_id)

    due = UpstreamTask.objects.filter(generation=generation, next_poll_at__lte=timezone.now())
    assert list(due.values_list("index", flat=True)) == [1]


def test_every_create_carries_an_idempotency_key_of_the_documented_shape(
    evolink_client, simulator: Simulator
) -> None:
    payload = {"model": "gpt-image-2", "prompt": "x", "size": "1024x1024", "quality": "low"}
    evolink_client.create_task(payload, idempotency_key="gen-0123456789abcdef-part-3")
    evolink_client.create_task(payload)  # a fresh key, for this call and its own retries
    with pytest.raises(ValueError, match="Idempotency-Key"):
        evolink_client.create_task(payload, idempotency_key="too short")

    first, second = (c["idempotency_key"] for c in simulator.creates)
    assert first == "gen-0123456789abcdef-part-3"
    assert IDEMPOTENCY_KEY.fullmatch(second) and second != first
    assert simulator.request_count(CREATE) == 2  # the malformed key was never sent


def test_the_simulator_refuses_n_above_1_for_gpt_image_1_5(evolink_client) -> None:
    from playground.evolink.client import EvoLinkError

    with pytest.raises(EvoLinkError) as refused:
        evolink_client.create_task({"model": "gpt-image-1.5", "prompt": "x", "n": 2})
    assert refused.value.status == 400


def test_parts_we_stopped_waiting_for_are_read_again_on_check_again(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, n=2)
    fast_jobs.slow_tasks(0.5, times=2)
    drain()
    UpstreamTask.objects.filter(generation=generation).update(
        poll_deadline=timezone.now() - timedelta(seconds=1)
    )
    with poller.Clients() as clients:
        poller.poll_due(clients)
    job = Generation.objects.get(pk=generation.pk)
    assert job.state == State.TIMED_OUT
    assert job.error_message.startswith("0 of 2 images were made; 2 still running at EvoLink")

    response = alice_client.post(reverse("generation_check_again", args=[job.public_id]))
    assert response.status_code in (204, 302)

    done = run_until_final(job.pk)
    assert (done.state, done.images_returned, done.error_message) == (State.COMPLETED, 2, "")
    assert fast_jobs.request_count(CREATE) == 2  # read again, never sent again


def test_an_admin_sees_the_upstream_tasks_of_a_split_job(
    alice_client: Client, alice, fast_jobs: Simulator, django_capture_on_commit_callbacks
) -> None:
    generation = generate(alice_client, django_capture_on_commit_callbacks, n=2)
    done = run_until_final(generation.pk)
    alice.is_staff = alice.is_superuser = True
    alice.save()

    page = alice_client.get(f"/admin/playground/generation/{done.pk}/change/").content.decode()

    for part in parts_of(done):
        assert part.task_id in page and part.idempotency_key in page
