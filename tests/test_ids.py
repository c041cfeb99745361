"""Ids past the database's integer range answer 404 or the form's message, never 500
(issue 19, finding 3): one parser (playground/ids.py) and the `<id:>` URL converter."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground import ids
from playground.gallery.models import Collection
from playground.generations.jobs import save_result
from playground.generations.models import State
from tests.factories import make_generation, png_bytes

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # past 2**64
JUST_PAST = str(2**63)


@pytest.fixture
def image_id(alice: User) -> int:
    job = make_generation(alice, prompt="fox", state=State.COMPLETED)
    save_result(job, 0, png_bytes(8, 8, "teal"))
    return job.images.get().pk


@pytest.fixture
def collection(alice: User, team_a) -> Collection:  # type: ignore[no-untyped-def]
    return Collection.objects.create(team=team_a, name="Shortlist", created_by=alice)


def test_the_parser_reads_only_ascii_digits_within_range() -> None:
    assert ids.parse("42") == 42
    assert ids.parse(str(2**63 - 1)) == 2**63 - 1
    for junk in (JUST_PAST, HUGE, "", "-1", "+1", " 1", "1.0", "²", "٣", "1e3", None):
        assert ids.parse(junk) is None, junk
    assert ids.parse_list(["3,1", "3", HUGE]) == ([3, 1], True)


@pytest.mark.parametrize("big", [HUGE, JUST_PAST])
def test_compare_with_a_huge_id_says_the_link_is_damaged(
    alice_client: Client, image_id: int, big: str
) -> None:
    response = alice_client.get(f"/compare/?images={big},{image_id}")
    assert response.status_code == 400
    assert "damaged" in response.content.decode()


@pytest.mark.parametrize("big", [HUGE, JUST_PAST])
def test_collection_add_and_remove_with_a_huge_id_are_404(
    alice_client: Client, collection: Collection, image_id: int, big: str
) -> None:
    add = alice_client.post(
        "/t/a/collections/add/", {"image": [big, str(image_id)], "collection": collection.pk}
    )
    assert add.status_code == 404
    assert not collection.items.exists()
    # A huge collection id: no such collection.
    assert (
        alice_client.post(
            "/t/a/collections/add/", {"image": str(image_id), "collection": big}
        ).status_code
        == 404
    )
    assert (
        alice_client.post(f"/t/a/collections/{collection.pk}/remove/", {"image": big}).status_code
        == 404
    )


@pytest.mark.parametrize("big", [HUGE, JUST_PAST])
def test_a_selection_or_collection_export_with_a_huge_id_is_404(
    alice_client: Client, image_id: int, big: str
) -> None:
    selection = alice_client.post("/t/a/exports/", {"source": "selection", "image": [big]})
    assert selection.status_code == 404
    for source in ("collection", "run"):
        response = alice_client.post("/t/a/exports/", {"source": source, "source_id": big})
        assert response.status_code == 404, source


@pytest.mark.parametrize(
    "url",
    [
        "/t/a/collections/{big}/",
        "/t/a/keys/{big}/",
        "/t/a/members/{big}/role/",
        "/images/{big}/favourite/",
        "/t/a/templates/{big}/delete/",
        "/t/a/?before={big}",
        "/t/a/matrix/?template={big}",
    ],
)
@pytest.mark.parametrize("big", [HUGE, JUST_PAST])
def test_huge_ids_in_addresses_are_404_not_500(
    alice_client: Client, ada_client: Client, url: str, big: str
) -> None:
    client = ada_client if "members" in url or "keys" in url else alice_client
    address = url.format(big=big)
    method = client.post if any(w in url for w in ("role", "favourite", "delete")) else client.get
    response = method(address)
    assert response.status_code in (200, 404), (address, response.status_code)
