"""Cancelling many waiting jobs in one action: "Cancel my waiting jobs" in the studio
(the person's own QUEUED jobs in the team, nobody else's) and "Cancel waiting cells"
on a matrix run's page (its maker or a team admin). Nothing is sent, nothing charged;
against the simulator as a real server."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.evolink.simulator import Simulator
from playground.generations import jobs, spend
from playground.generations.models import Generation, PartState, State, UpstreamTask
from playground.matrix.models import MatrixCell, MatrixRun
from playground.teams.models import Membership, Team
from tests.factories import make_generation

CREATE = "POST /v1/images/generations"

pytestmark = pytest.mark.django_db


def states(*jobs_: Generation) -> list[str]:
    return [Generation.objects.get(pk=j.pk).state for j in jobs_]


def test_cancel_my_waiting_jobs_cancels_only_my_own_queued_jobs_in_this_team(
    alice_client: Client, alice: User, bob: User, team_b: Team, fast_jobs: Simulator
) -> None:
    mine = [make_generation(alice, prompt=f"mine {i}", estimated_credits="8") for i in range(3)]
    running = make_generation(alice, prompt="on its way", state=State.RUNNING)
    done = make_generation(alice, prompt="done", state=State.COMPLETED)
    bobs = make_generation(bob, prompt="bob's")
    Membership.objects.create(user=alice, team=team_b)
    elsewhere = make_generation(alice, prompt="in team B", team=team_b)

    history = alice_client.get("/t/a/history/").content.decode()
    assert "Cancel my 3 waiting jobs" in history
    page = alice_client.get("/t/a/waiting/cancel/").content.decode()
    assert "Cancel your 3 waiting jobs?" in page

    response = alice_client.post("/t/a/waiting/cancel/", follow=True)
    assert "3 waiting jobs were cancelled: nothing was sent or charged." in (
        response.content.decode()
    )
    assert states(*mine) == [State.CANCELLED] * 3
    assert states(running, done, bobs, elsewhere) == [
        State.RUNNING,
        State.COMPLETED,
        State.QUEUED,
        State.QUEUED,
    ]
    assert all(spend.charge_of(Generation.objects.get(pk=j.pk)).kind == "not_charged" for j in mine)
    # The wake-ups already queued find nothing to send: no create reaches EvoLink.
    assert [jobs.submit(j.pk) for j in mine] == ["not claimed"] * 3
    assert fast_jobs.request_count(CREATE) == 0
    assert "waiting/cancel/" not in alice_client.get("/t/a/history/").content.decode()


def test_nothing_waiting_says_so_and_cancels_nothing(alice_client: Client, alice: User) -> None:
    running = make_generation(alice, state=State.SUBMITTING)
    assert "Nothing is waiting" in alice_client.get("/t/a/waiting/cancel/").content.decode()
    html = alice_client.post("/t/a/waiting/cancel/", follow=True).content.decode()
    assert "No job was waiting any more" in html
    assert states(running) == [State.SUBMITTING]


def test_another_teams_waiting_jobs_are_404(
    charlie_client: Client, alice: User, team_a: Team
) -> None:
    job = make_generation(alice)
    assert charlie_client.get("/t/a/waiting/cancel/").status_code == 404
    assert charlie_client.post("/t/a/waiting/cancel/").status_code == 404
    assert states(job) == [State.QUEUED]


def test_a_viewer_cannot_cancel_and_sees_no_button(vera_client: Client, alice: User) -> None:
    make_generation(alice)
    assert vera_client.post("/t/a/waiting/cancel/").status_code == 403
    assert "waiting/cancel/" not in vera_client.get("/t/a/history/").content.decode()


def run_of(owner: User, team: Team, *cell_jobs: Generation) -> MatrixRun:
    run = MatrixRun.objects.create(
        team=team, created_by=owner, client_token=uuid.uuid4(), text="a fox, {style}"
    )
    for column, job in enumerate(cell_jobs):
        MatrixCell.objects.create(
            run=run, generation=job, row=0, column=column, row_label="", column_label=str(column)
        )
    return run


def test_cancel_waiting_cells_cancels_the_runs_queued_jobs_only(
    alice_client: Client, alice: User, team_a: Team, fast_jobs: Simulator
) -> None:
    waiting = [make_generation(alice, prompt=f"cell {i}") for i in range(2)]
    sent = make_generation(alice, prompt="cell sent", state=State.RUNNING)
    other = make_generation(alice, prompt="not in the run")
    run = run_of(alice, team_a, *waiting, sent)
    url = f"/t/a/runs/{run.public_id}/"

    assert "Cancel 2 waiting cells" in alice_client.get(url).content.decode()
    assert (
        "Cancel this run's 2 waiting cells?" in alice_client.get(f"{url}cancel/").content.decode()
    )
    html = alice_client.post(f"{url}cancel/", follow=True).content.decode()
    assert "2 waiting jobs were cancelled" in html
    assert states(*waiting, sent, other) == [
        State.CANCELLED,
        State.CANCELLED,
        State.RUNNING,
        State.QUEUED,
    ]
    assert fast_jobs.request_count(CREATE) == 0


def test_a_team_admin_may_cancel_a_colleagues_run_a_teammate_may_not(
    ada_client: Client, bob_client: Client, alice: User, team_a: Team
) -> None:
    job = make_generation(alice)
    run = run_of(alice, team_a, job)
    url = f"/t/a/runs/{run.public_id}/"
    assert "cancel/" not in bob_client.get(url).content.decode()
    assert bob_client.post(f"{url}cancel/").status_code == 403
    assert states(job) == [State.QUEUED]
    assert ada_client.post(f"{url}cancel/").status_code == 302
    assert states(job) == [State.CANCELLED]


def test_a_gpt_image_1_5_job_waiting_to_send_its_parts_stops_only_those_not_sent(
    alice_client: Client, alice: User, fast_jobs: Simulator
) -> None:
    # One task of a 2-image job went out; the other waits in the queue (a retry).
    job = make_generation(alice, model="gpt-image-1.5", size="1024x1024", n=2)
    sent = UpstreamTask.objects.create(
        generation=job, index=0, state=PartState.RUNNING, task_id="t0", idempotency_key="k0"
    )
    waiting = UpstreamTask.objects.create(generation=job, index=1, idempotency_key="k1")
    html = alice_client.post("/t/a/waiting/cancel/", follow=True).content.decode()
    assert "1 waiting job was cancelled" in html
    waiting.refresh_from_db()
    sent.refresh_from_db()
    assert (waiting.state, sent.state) == (PartState.CANCELLED, PartState.RUNNING)
    # The part already sent runs on: the job ends when it does.
    assert states(job) == [State.RUNNING]
    assert fast_jobs.request_count(CREATE) == 0
