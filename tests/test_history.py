"""The history: scoped to its owner, newest first, paginated, searchable, live."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries, Settings

from playground.generations.models import Generation, State
from playground.teams.models import Profile
from tests.factories import fake_result, make_generation

pytestmark = pytest.mark.django_db


def make(
    owner: User,
    count: int = 1,
    state: str = State.COMPLETED,
    prompt: str = "a fox",
    model: str = "gpt-image-2",
) -> list[Generation]:
    return [
        make_generation(owner, prompt=f"{prompt} {i}", model=model, state=state)
        for i in range(count)
    ]


def test_newest_first_with_counters(alice_client: Client, alice: User) -> None:
    make(alice, 2, State.COMPLETED)
    running = make(alice, 1, State.RUNNING, prompt="in flight")
    html = alice_client.get("/t/a/history/").content.decode()
    assert "1 running · 2 completed" in html
    assert html.index(f'id="generation-{running[0].pk}"') < html.index("a fox 1")
    assert "<progress" in html


def live_url(html: str) -> str:
    return html.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")


def test_the_live_check_answers_204_until_something_changes(
    alice_client: Client, alice: User, bob: User
) -> None:
    (job,) = make(alice, 1, State.RUNNING)
    html = alice_client.get("/t/a/history/").content.decode()
    assert 'hx-trigger="history-changed from:body, every 2s"' in html
    url = live_url(html)
    assert "since=" in url
    # Nothing changed: an empty answer, nothing rendered, decided by one aggregate
    # after the session, the user and the membership check. (Sent by the page itself,
    # with `HX-Trigger: history`, it costs one COUNT more: the bell's unread count rides
    # on it, playground/notifications/middleware.py; tests/test_notifications.py.)
    with CaptureQueriesContext(connection) as queries:
        response = alice_client.get(url)
    assert response.status_code == 204 and response.content == b""
    assert len(queries) == 4, [q["sql"][:60] for q in queries]
    # The team's history clock, read by its key: nothing scans the jobs.
    assert "playground_historyclock" in queries[-1]["sql"]
    assert "playground_generation" not in " ".join(q["sql"] for q in queries)

    Generation.objects.transition(job.pk, State.RUNNING, progress=40)
    changed = alice_client.get(url)
    assert changed.status_code == 200 and 'value="40"' in changed.content.decode()
    url = live_url(changed.content.decode())
    assert alice_client.get(url).status_code == 204

    # A colleague's new job shows up at the next check, with who made it.
    make_generation(bob, prompt="a lighthouse by bob")
    fresh = alice_client.get(url).content.decode()
    assert "a lighthouse by bob" in fresh and '>by <span translate="no">bob</span><' in fresh


def test_pagination_has_no_cap(alice_client: Client, alice: User) -> None:
    jobs = make(alice, 45)
    first = alice_client.get("/t/a/").content.decode()
    assert first.count('class="history-item state-') == 20
    assert f"before={jobs[25].pk}" in first  # the 20th newest
    second = alice_client.get(f"/t/a/?before={jobs[25].pk}").content.decode()
    assert second.count('class="history-item state-') == 20
    third = alice_client.get(f"/t/a/?before={jobs[5].pk}").content.decode()
    assert third.count('class="history-item state-') == 5
    assert "Older jobs" not in third


def test_search_filters_by_prompt(alice_client: Client, alice: User) -> None:
    make(alice, 3, prompt="lighthouse")
    make(alice, 2, prompt="tiger")
    html = alice_client.get("/t/a/history/?q=TIGER").content.decode()
    assert html.count('class="history-item state-') == 2 and "lighthouse" not in html
    assert "No job matches" in alice_client.get("/t/a/history/?q=zebra").content.decode()


def test_strangers_see_nothing(alice: User, charlie_client: Client) -> None:
    (job,) = make(alice, 1, prompt="alice's secret")
    fake_result(job)
    assert "secret" not in charlie_client.get("/t/b/history/").content.decode()
    assert "secret" not in charlie_client.get("/t/b/").content.decode()
    for url in (
        f"/generations/{job.public_id}/",
        f"/generations/{job.public_id}/images/0",
        f"/generations/{job.public_id}/images/0/thumbnail",
    ):
        assert charlie_client.get(url).status_code == 404, url
    for url in (
        f"/generations/{job.public_id}/check-again/",
        f"/generations/{job.public_id}/resubmit/",
    ):
        assert charlie_client.post(url).status_code == 404, url
    assert Generation.objects.count() == 1


def test_the_owner_sees_the_detail_page(alice_client: Client, alice: User) -> None:
    (job,) = make(alice, 1, State.FAILED, prompt="a detailed prompt")
    Generation.objects.filter(pk=job.pk).update(error_message="The content filter blocked it.")
    html = alice_client.get(f"/generations/{job.public_id}/").content.decode()
    assert "a detailed prompt 0" in html and "The content filter blocked it." in html
    assert "Re-run" in html
    assert alice_client.get(f"/generations/{uuid.uuid4()}/").status_code == 404


def test_check_again_only_applies_to_jobs_we_stopped_waiting_for(
    alice_client: Client, alice: User
) -> None:
    (job,) = make(alice, 1, State.COMPLETED)
    assert alice_client.post(f"/generations/{job.public_id}/check-again/").status_code == 404


def test_the_fragment_query_count_does_not_grow_with_history(
    alice_client: Client, alice: User, django_assert_max_num_queries
) -> None:
    def queries_for_page() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert alice_client.get("/t/a/history/").status_code == 200
        return len(ctx.captured_queries)

    for job in make(alice, 3):  # with images, so "Edit with mask" is asked from the start
        fake_result(job)
    queries_for_page()  # the first visit remembers the team: not part of the steady cost
    small = queries_for_page()
    for job in make(alice, 60):
        fake_result(job)
    assert queries_for_page() == small


def test_only_staff_reach_the_admin(alice_client: Client, alice: User) -> None:
    (job,) = make(alice, 1)
    response = alice_client.get(f"/admin/playground/generation/{job.pk}/change/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    alice.is_staff = alice.is_superuser = True
    alice.save()
    assert alice_client.get("/admin/playground/generation/").status_code == 200
    assert (
        "a fox 0"
        in alice_client.get(f"/admin/playground/generation/{job.pk}/change/").content.decode()
    )


def test_a_card_shows_its_cost_when_and_a_short_result(alice_client: Client, alice: User) -> None:
    from decimal import Decimal

    job = make_generation(
        alice, state=State.COMPLETED, n=4, images_returned=1, credits_charged=Decimal("1.23456")
    )
    fake_result(job)
    html = alice_client.get("/t/a/history/").content.decode()
    card = html.split(f'id="generation-{job.pk}"', 1)[1].split("</li>", 1)[0]
    assert "1.23 credits · charged" in card and 'title="1.23456 credits"' in card
    assert "1 of 4 images returned" in card
    # When, relative ("now", "3 minutes ago"), with the exact time on hover.
    assert "<time datetime=" in card and f'title="{job.created_at:%Y-%m-%d %H:%M}' in card
    # The thumbnail keeps the result's shape: its own width and height.
    assert 'width="1" height="1"' in card


def test_the_grid_layout_is_remembered_for_the_person(alice: User, bob: User) -> None:
    make(alice, 3)
    first = Client()
    first.force_login(alice)
    assert 'class="history layout-list"' in first.get("/t/a/history/").content.decode()
    # From the history with a filter: the fragment comes back in the grid, filter kept.
    response = first.post(
        "/t/a/history/layout/?model_filter=gpt-image-2", {"layout": "grid"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'class="history layout-grid"' in html
    assert 'name="layout" value="grid" aria-pressed="true"' in html
    assert "model_filter=gpt-image-2" in live_url(html)
    assert Profile.objects.get(user=alice).history_layout == "grid"
    # Another device (a new session) opens the grid too; a colleague keeps their list.
    other_device = Client()
    other_device.force_login(alice)
    assert "layout-grid" in other_device.get("/t/a/").content.decode()
    colleague = Client()
    colleague.force_login(bob)
    assert 'class="history layout-list"' in colleague.get("/t/a/history/").content.decode()
    # Without JavaScript: back to the studio. Nonsense changes nothing.
    assert first.post("/t/a/history/layout/", {"layout": "list"})["Location"] == "/t/a/"
    first.post("/t/a/history/layout/", {"layout": "mosaic"})
    assert Profile.objects.get(user=alice).history_layout == "list"


def test_an_edit_shows_a_strip_of_its_references_on_its_card(
    alice_client: Client, alice: User, bob: User
) -> None:
    from playground.generations import references
    from playground.generations.models import GenerationReference
    from tests.factories import png_bytes

    (plain,) = make(alice, 1, prompt="from words only")
    edit = make_generation(alice, prompt="an edit", size="1024x1536", state=State.COMPLETED)
    for position, colour in enumerate(["red", "green", "blue", "gold", "navy"]):
        image = references.store_bytes(png_bytes(40, 40, colour), f"{colour}.png", alice)
        GenerationReference.objects.create(generation=edit, reference=image, position=position)
    html = alice_client.get("/t/a/history/").content.decode()
    card = html.split(f'id="generation-{edit.pk}"', 1)[1].split("</li>", 1)[0]
    strip = card.split('data-testid="reference-strip"', 1)[1].split("</span> ", 1)[0]
    assert 'title="An edit of 5 reference images"' in strip
    thumbs = [part.split('"', 1)[0] for part in strip.split('<img src="')[1:]]
    assert len(thumbs) == 4  # at most four, the count says the rest
    # A colleague's browser may show them too (signed for whoever reads the page).
    bob_client = Client()
    bob_client.force_login(bob)
    bob_card = bob_client.get("/t/a/history/").content.decode()
    bob_thumbs = bob_card.split(f'id="generation-{edit.pk}"', 1)[1].split('<img src="')[1:5]
    for url in (part.split('"', 1)[0] for part in bob_thumbs):
        assert bob_client.get(url).status_code == 200
    assert "1024×1536 · Low" in card  # sizes read "1024×1536" everywhere
    other = html.split(f'id="generation-{plain.pk}"', 1)[1].split("</li>", 1)[0]
    assert "reference-strip" not in other


def test_every_change_a_history_shows_moves_the_team_clock(
    alice_client: Client, alice: User, charlie: User
) -> None:
    """The live check answers 204 only while the team's clock stands still: each way a
    job changes in front of people must move it (or open histories go stale)."""
    from django.utils import timezone

    from playground.evolink import client as evolink
    from playground.generations import jobs, poller
    from playground.generations.models import HistoryClock

    def check_url() -> str:
        return live_url(alice_client.get("/t/a/history/").content.decode())

    def changed(action) -> bool:  # type: ignore[no-untyped-def]
        url = check_url()
        assert alice_client.get(url).status_code == 204
        action()
        return alice_client.get(url).status_code == 200

    team_a = alice.memberships.get().team
    job = make_generation(alice, prompt="watched")
    # Another team's activity does not wake team A's tabs.
    assert not changed(lambda: make_generation(charlie, prompt="elsewhere"))
    assert changed(lambda: make_generation(alice, prompt="a new job"))
    assert changed(lambda: jobs.submit(job.pk))  # claimed: "Submitting"
    Generation.objects.filter(pk=job.pk).update(state=State.RUNNING, next_poll_at=timezone.now())
    HistoryClock.tick(team_ids=[team_a.pk])
    running = evolink.Task(id="t", status="processing", progress=30)
    assert changed(
        lambda: poller.record_readings(
            [poller.Reading.of(job.pk, 0, timezone.now(), running, timezone.now())],
            timezone.now(),
        )
    )
    assert changed(lambda: Generation.objects.transition(job.pk, State.RUNNING, progress=60))
    assert changed(lambda: Generation.objects.end(job.pk, State.RUNNING, State.FAILED, "x", "y"))
    finished = Generation.objects.get(pk=job.pk)
    assert changed(lambda: finished.set_private(True))
    assert changed(lambda: finished.delete_with_files())
    queued = make_generation(alice, prompt="to cancel")
    assert changed(lambda: queued.cancel(by=alice))


# The fragment's whole cost once the team is remembered: the session, the user, the
# membership, the history clock, the counters, the jobs, their images, references and
# stars, the team switcher's memberships, and which models the team may use (one
# query, for "Edit with mask" on the tiles, since issue 22). Nothing asks whether a key
# is stored: only the studio page's banner needs that (issue 21, point 6: a context
# processor asked on every render; 11 queries then, 10 without "Edit with mask"), and the
# comment counts of its tiles (one query for the page, comments.threads.counts_for).
HISTORY_FRAGMENT_QUERIES = 12


def test_the_history_fragment_asks_only_what_it_shows(
    alice_client: Client,
    alice: User,
    settings: Settings,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    settings.EVOLINK_API_KEY = ""  # teams pay with their stored keys: the costly case
    for job in make(alice, 3):
        fake_result(job)
    alice_client.get("/t/a/history/")  # the first visit remembers the team
    with django_assert_num_queries(HISTORY_FRAGMENT_QUERIES):
        response = alice_client.get("/t/a/history/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.count(b'class="history-item state-') == 3
