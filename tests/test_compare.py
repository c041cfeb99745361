"""Compare: 2–4 images side by side, by a link that shows the same page to any colleague
who may see every image, and nothing at all to anyone who may not see one of them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from playground.generations.jobs import save_result
from playground.generations.models import Generation, ResultImage, State
from playground.teams.models import Team
from tests.conftest import logged_in, member
from tests.factories import make_generation, png_bytes

pytestmark = pytest.mark.django_db


def image_of(owner: User, prompt: str, **fields: object) -> ResultImage:
    started = timezone.now() - timedelta(seconds=75)
    fields.setdefault("state", State.COMPLETED)
    job = make_generation(owner, prompt=prompt, created_at=started, **fields)
    Generation.objects.filter(pk=job.pk).update(finished_at=started + timedelta(seconds=42))
    job.refresh_from_db()
    return save_result(job, 0, png_bytes(24, 16))


def url(*images: ResultImage | int | str) -> str:
    ids = [str(getattr(i, "pk", i)) for i in images]
    return "/compare/?images=" + ",".join(ids)


def items(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [image.pk for image in response.context["shown"]]


def test_it_shows_the_images_in_the_order_of_the_link(alice: User, bob: User) -> None:
    first = image_of(alice, "a red fox", quality="high", credits_charged=Decimal("12.5"))
    second = image_of(bob, "a blue whale", model="gpt-image-1", quality="medium")
    response = logged_in(alice).get(url(second, first))
    assert response.status_code == 200
    assert items(response) == [second.pk, first.pk]
    html = response.content.decode()
    assert html.index("a blue whale") < html.index("a red fox")
    # Each with its model, settings, cost, time and maker.
    for text in ("gpt-image-1", "gpt-image-2", "High", "Medium", "24×16", "12.50", "42 s", "bob"):
        assert text in html, text


def test_it_takes_two_to_four_images(alice: User) -> None:
    shown = [image_of(alice, f"p{i}") for i in range(5)]
    client = logged_in(alice)
    assert client.get(url(*shown[:2])).status_code == 200
    assert client.get(url(*shown[:4])).status_code == 200
    for link, words in (
        (url(shown[0]), "at least 2"),
        (url(shown[0], shown[0]), "at least 2"),  # the same image twice is one
        (url(*shown), "at most 4"),
        ("/compare/", "at least 2"),
        (url(shown[0], shown[1], "x7"), "damaged"),
        (url(shown[0], "-3"), "damaged"),
    ):
        response = client.get(link)
        assert response.status_code == 400, link
        assert words in response.content.decode(), link
        assert "shown" not in response.context


def test_a_form_of_ticked_images_compares_them_too(alice: User) -> None:
    one, two = image_of(alice, "one"), image_of(alice, "two")
    response = logged_in(alice).get(f"/compare/?image={two.pk}&image={one.pk}")
    assert items(response) == [two.pk, one.pk]


def test_a_person_in_both_teams_compares_across_teams(team_a: Team, team_b: Team) -> None:
    dora = member("dora", team_a)
    member_b = team_b.memberships.create(user=dora, role="member")
    assert member_b
    ours = image_of(dora, "team A's", team=team_a)
    theirs = image_of(dora, "team B's", team=team_b)
    response = logged_in(dora).get(url(ours, theirs))
    assert response.status_code == 200
    assert items(response) == [ours.pk, theirs.pk]
    assert "Team A" in response.content.decode() and "Team B" in response.content.decode()


def test_another_teams_image_makes_the_whole_page_404(alice: User, charlie: User) -> None:
    ours = image_of(alice, "ours, secret prompt")
    theirs = image_of(charlie, "theirs")
    response = logged_in(alice).get(url(ours, theirs))
    assert response.status_code == 404
    assert b"secret prompt" not in response.content
    # An id that does not exist at all answers the same.
    assert logged_in(alice).get(url(ours, 999999)).status_code == 404


def test_a_colleagues_only_me_image_is_404_for_everyone_else(
    alice: User, bob: User, ada: User
) -> None:
    shared = image_of(alice, "shared")
    hidden = image_of(alice, "mine only", private=True)
    assert logged_in(alice).get(url(shared, hidden)).status_code == 200
    assert logged_in(bob).get(url(shared, hidden)).status_code == 404
    assert logged_in(ada).get(url(shared, hidden)).status_code == 404


def test_the_link_is_the_share(alice: User, bob: User) -> None:
    one, two = image_of(alice, "one"), image_of(alice, "two")
    link = url(one, two)
    for person in (alice, bob):
        response = logged_in(person).get(link)
        assert response.status_code == 200
        assert items(response) == [one.pk, two.pk]
        assert f'value="http://testserver{link}"' in response.content.decode()


def test_queries_do_not_grow_with_the_number_of_images(alice: User, bob: User) -> None:
    images = [image_of(alice if i % 2 else bob, f"p{i}") for i in range(4)]
    client = logged_in(alice)
    client.get(url(*images[:2]))  # the session settles its current team first

    def count(link: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(link).status_code == 200
        return len(queries)

    assert count(url(*images[:2])) == count(url(*images))
