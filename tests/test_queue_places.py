"""The studio's queued cards say their place honestly: "Queued: 3 ahead of you" from the
fair order, or the team's per-member limit that holds the job back, for a whole page
in a few queries (fair_order.places), kept live by the history's refresh."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from playground.generations import fair_order
from playground.generations.models import Generation, State
from playground.teams.models import Team
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(minutes=10)


def queue(owner: User, count: int, *, start: int) -> list[Generation]:
    return [
        make_generation(
            owner, prompt=f"{owner.username} {i}", created_at=T0 + timedelta(seconds=start + i)
        )
        for i in range(count)
    ]


def card(html: str, job: Generation) -> str:
    start = html.index(f'id="generation-{job.pk}"')
    return html[start : html.index("</li>", start)]


def test_places_agree_with_ahead_of_and_held_back(alice: User, bob: User, team_a: Team) -> None:
    alices = queue(alice, 4, start=0)
    bobs = queue(bob, 2, start=5)
    make_generation(bob, state=State.RUNNING)
    team_a.member_jobs_in_flight_limit = 1
    team_a.save()
    jobs = [Generation.objects.get(pk=j.pk) for j in alices + bobs]
    places = fair_order.places(jobs)
    for job in jobs:
        assert places[job.pk] == fair_order.Place(
            fair_order.ahead_of(job), fair_order.held_back(job)
        )
    assert places[bobs[0].pk].held is not None  # bob is at the limit
    assert places[alices[0].pk] == fair_order.Place(0)


def test_a_queued_card_says_how_many_are_ahead(
    alice_client: Client, bob_client: Client, alice: User, bob: User
) -> None:
    alices = queue(alice, 3, start=0)  # a run of alice's
    (bobs,) = queue(bob, 1, start=10)  # bob presses Generate once, later
    html = bob_client.get("/t/a/history/").content.decode()
    # Round-robin: alice 0, bob 0 — bob's one job is second, not fourth.
    assert "Queued: 1 ahead of you" in card(html, bobs)
    assert "Queued: next to be sent" in card(html, alices[0])
    # A colleague's card says it without "you".
    assert "Queued: 3 jobs ahead" in card(html, alices[2])  # alice 0, bob 0, alice 1
    assert "Queued: 2 jobs ahead" in card(html, alices[1])
    # The next refresh follows the queue: alice's first job was sent. Her second is
    # next (the first of the new round, made before bob's).
    Generation.objects.transition(alices[0].pk, State.QUEUED, state=State.SUBMITTING)
    html = bob_client.get("/t/a/history/").content.decode()
    assert "Queued: next to be sent" in card(html, alices[1])
    assert "Queued: 1 ahead of you" in card(html, bobs)
    assert "queue-place" not in card(html, alices[0])


def test_a_limit_holding_jobs_back_is_said_on_the_card(
    alice_client: Client, bob_client: Client, alice: User, team_a: Team
) -> None:
    for _ in range(2):
        make_generation(alice, state=State.RUNNING)
    (held,) = queue(alice, 1, start=0)
    team_a.member_jobs_in_flight_limit = 2
    team_a.save()
    mine = card(alice_client.get("/t/a/history/").content.decode(), held)
    assert "Waiting: you have 2 jobs in flight, your team&#x27;s limit" in mine
    theirs = card(bob_client.get("/t/a/history/").content.decode(), held)
    assert "Waiting: its maker is at the team's limit" in theirs
    # Released as soon as one ends: the card says its place instead.
    running = Generation.objects.filter(owner=alice, state=State.RUNNING).first()
    assert running is not None
    Generation.objects.end(running.pk, State.RUNNING, State.COMPLETED, "", "")
    mine = card(alice_client.get("/t/a/history/").content.decode(), held)
    assert "Queued: next to be sent" in mine


def count_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/t/a/history/", HTTP_HX_REQUEST="true").status_code == 200
    return len(ctx.captured_queries)


def test_the_places_cost_the_same_for_a_few_queued_cards_as_for_twenty(
    alice_client: Client, alice: User, bob: User, team_a: Team
) -> None:
    team_a.member_jobs_in_flight_limit = 5
    team_a.save()
    queue(alice, 6, start=0)  # one held back by the limit
    alice_client.get("/t/a/history/")  # the first visit remembers the team
    one = count_queries(alice_client)
    queue(alice, 12, start=10)  # more held back
    queue(bob, 7, start=20)
    assert count_queries(alice_client) == one
