"""Favourites and the team's collections: stars are per person, the "Favourites"
filter of the history, collections made, renamed, filled, emptied and deleted, and
nothing of another team (or a colleague's "Only me" job) reachable through any of it."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from playground.gallery.models import Collection, CollectionItem, Favourite
from playground.generations.jobs import save_result
from playground.generations.models import Generation, ResultImage, State
from playground.teams.models import Team
from tests.factories import fake_result, make_generation, png_bytes

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def image(owner: User, prompt: str = "a fox", **fields) -> ResultImage:  # type: ignore[no-untyped-def]
    """A finished job of `owner` with one (listed, not archived) image."""
    job = make_generation(owner, prompt=prompt, state=State.COMPLETED, **fields)
    return fake_result(job)


def collection(team: Team, name: str = "Shortlist", *images: ResultImage) -> Collection:
    made = Collection.objects.create(team=team, name=name)
    for img in images:
        CollectionItem.objects.create(collection=made, image=img)
    return made


def history(client: Client, query: str = "") -> str:
    return client.get(f"/t/a/history/{query}").content.decode()


# --- Favourites ---------------------------------------------------------------------


def test_a_star_is_set_once_and_taken_off_per_person(
    alice: User, bob: User, alice_client: Client, bob_client: Client
) -> None:
    img = image(alice)
    url = f"/images/{img.pk}/favourite/"
    # Asking for a star twice (two tabs, a double press) keeps one.
    for _ in range(2):
        response = alice_client.post(url, {"favourited": "on", "next": "/t/a/?q=fox"})
        assert response.status_code == 302 and response["Location"] == "/t/a/?q=fox"
    assert Favourite.objects.filter(user=alice, image=img).count() == 1
    # Bob's stars are his own: alice's star is not his, his toggle adds his.
    assert 'data-favourited="false"' in history(bob_client)
    bob_client.post(url)
    assert Favourite.objects.filter(image=img).count() == 2
    # Taking it off twice is as safe; without a wanted state the star toggles.
    alice_client.post(url, {"favourited": "off"})
    alice_client.post(url, {"favourited": "off"})
    assert not Favourite.objects.filter(user=alice).exists()
    alice_client.post(url)
    assert Favourite.objects.filter(user=alice).exists()
    assert Favourite.objects.filter(user=bob).exists()


def test_with_htmx_the_star_swaps_and_says_what_it_does(alice: User, alice_client: Client) -> None:
    img = image(alice)
    response = alice_client.post(f"/images/{img.pk}/favourite/", {"favourited": "on"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-pressed="true"' in html and 'aria-label="Remove from favourites"' in html
    assert "★" in html and 'value="off"' in html
    assert json.loads(response["HX-Trigger"]) == {
        "favourite-changed": {"image": img.pk, "favourited": True}
    }
    off = alice_client.post(f"/images/{img.pk}/favourite/", {"favourited": "off"}, **HTMX)
    assert 'aria-label="Add to favourites"' in off.content.decode()


def test_a_star_returns_only_to_a_page_of_ours(alice: User, alice_client: Client) -> None:
    img = image(alice)
    response = alice_client.post(
        f"/images/{img.pk}/favourite/", {"next": "https://evil.example/phish"}
    )
    assert response["Location"] == f"/generations/{img.generation.public_id}/"


def test_nothing_a_person_may_not_see_can_be_starred(
    alice: User, bob_client: Client, charlie_client: Client
) -> None:
    shared = image(alice)
    private = image(alice, private=True)
    assert charlie_client.post(f"/images/{shared.pk}/favourite/").status_code == 404
    assert bob_client.post(f"/images/{private.pk}/favourite/").status_code == 404
    assert bob_client.post("/images/999999/favourite/").status_code == 404
    assert not Favourite.objects.exists()


def test_the_tiles_and_the_lightbox_links_show_the_persons_stars(
    alice: User, alice_client: Client
) -> None:
    starred, plain = image(alice, "starred"), image(alice, "plain")
    Favourite.objects.create(user=alice, image=starred)
    html = history(alice_client)
    assert f'data-favourite-url="/images/{starred.pk}/favourite/"' in html
    tile = html.split(f'id="image-tile-{starred.pk}"', 1)[1].split("</figure>", 1)[0]
    assert 'data-favourited="true"' in tile and 'aria-pressed="true"' in tile
    other = html.split(f'id="image-tile-{plain.pk}"', 1)[1].split("</figure>", 1)[0]
    assert 'data-favourited="false"' in other and 'aria-label="Add to favourites"' in other
    # Every tile can be ticked for the selection bar, labelled with the image it is.
    job = starred.generation
    assert f'form="selection-form" data-select-image="{starred.pk}"' in tile
    assert f"Select #{job.number} · " in tile


# --- The "Favourites" filter ----------------------------------------------------------


def test_the_favourites_filter_shows_the_jobs_of_ones_own_stars(
    alice: User, bob: User, alice_client: Client, bob_client: Client
) -> None:
    starred = image(alice, "a starred fox")
    image(alice, "an unstarred owl")
    image(bob, "bob's heron")
    alice_client.post(f"/images/{starred.pk}/favourite/", {"favourited": "on"})
    html = history(alice_client, "?favourites=1")
    assert "a starred fox" in html and "an unstarred owl" not in html and "heron" not in html
    assert "1 job matches" in html
    # Per person: bob has starred nothing, and says so with how to star.
    assert "a starred fox" not in history(bob_client, "?favourites=1")
    assert "No favourites yet" in history(bob_client, "?favourites=1")
    # It combines with the other filters.
    assert "a starred fox" not in history(alice_client, "?favourites=1&q=owl")
    # The studio page shows the filter ticked.
    page = alice_client.get("/t/a/?favourites=1").content.decode()
    assert 'name="favourites" value="1" checked' in page


def test_the_favourites_filter_survives_paging_and_the_live_check(
    alice: User, alice_client: Client
) -> None:
    for i in range(25):
        img = image(alice, f"fox {i}")
        Favourite.objects.create(user=alice, image=img)
    image(alice, "not starred")
    html = history(alice_client, "?favourites=1")
    older = html.split('class="button" href="', 2)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "favourites=1" in older and "before=" in older
    live = html.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "favourites=1" in live and "since=" in live
    second = alice_client.get(older.replace("/t/a/", "/t/a/history/")).content.decode()
    assert "fox 0" in second and "not starred" not in second


def test_un_starring_shows_at_the_next_live_check_of_the_favourites_view(
    alice: User, alice_client: Client
) -> None:
    img = image(alice, "a starred fox")
    Favourite.objects.create(user=alice, image=img)
    html = history(alice_client, "?favourites=1")
    live = html.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    # Nothing changed: 204, with one more small aggregate than the plain view (the
    # person's stars do not move the team's clock).
    with CaptureQueriesContext(connection) as queries:
        assert alice_client.get(live).status_code == 204
    assert len(queries) == 5, [q["sql"][:60] for q in queries]
    assert "gallery_favourite" in queries[-1]["sql"]
    alice_client.post(f"/images/{img.pk}/favourite/", {"favourited": "off"})
    fresh = alice_client.get(live)
    assert fresh.status_code == 200 and "a starred fox" not in fresh.content.decode()
    # The plain view's check does not read the stars at all.
    plain = history(alice_client).split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    with CaptureQueriesContext(connection) as queries:
        assert alice_client.get(plain).status_code == 204
    assert "gallery_favourite" not in " ".join(q["sql"] for q in queries)


def test_the_stars_of_a_page_cost_one_query_whatever_the_number_of_tiles(
    alice: User, alice_client: Client
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            alice_client.get("/t/a/history/")
        return sum("gallery_favourite" in q["sql"] for q in queries)

    Favourite.objects.create(user=alice, image=image(alice))
    assert count() == 1
    for _ in range(10):
        Favourite.objects.create(user=alice, image=image(alice))
    assert count() == 1


# --- Collections ----------------------------------------------------------------------


def test_a_member_creates_a_collection_and_sees_it_as_a_card(
    alice: User, alice_client: Client, bob_client: Client
) -> None:
    response = alice_client.post("/t/a/collections/", {"name": "  Spring campaign "})
    made = Collection.objects.get()
    assert made.name == "Spring campaign" and made.created_by == alice
    assert response["Location"] == f"/t/a/collections/{made.pk}/"
    img = image(alice)
    alice_client.post(
        "/t/a/collections/add/", {"image": img.pk, "collection": made.pk, "next": "/t/a/"}
    )
    page = bob_client.get("/t/a/collections/").content.decode()
    assert (
        "Spring campaign" in page
        and "1 image" in page
        and 'by <span translate="no">alice</span>' in page
    )
    assert f"/generations/{img.generation.public_id}/images/0/thumbnail" in page  # the cover
    assert 'href="/t/a/collections/"' in page  # the header's "Collections"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Name the collection."),
        ("   ", "Name the collection."),
        ("x" * 121, "at most 120 characters (this one has 121)"),
        ("shortlist", "already has a collection called “shortlist”"),
    ],
)
def test_a_bad_name_says_why_and_keeps_what_was_typed(
    alice: User, alice_client: Client, team_a: Team, name: str, message: str
) -> None:
    collection(team_a, "Shortlist")
    response = alice_client.post("/t/a/collections/", {"name": name})
    html = response.content.decode()
    assert response.status_code == 400 and message in html
    assert f'value="{name}"' in html
    assert Collection.objects.count() == 1


def test_rename_checks_the_name_too(alice: User, alice_client: Client, team_a: Team) -> None:
    shortlist = collection(team_a, "Shortlist")
    collection(team_a, "Finals")
    refused = alice_client.post(f"/t/a/collections/{shortlist.pk}/rename/", {"name": "FINALS"})
    html = refused.content.decode()
    assert refused.status_code == 400 and "already has a collection called “FINALS”" in html
    assert 'value="FINALS"' in html and '<details class="rename" open>' in html
    # Its own name in another case is fine.
    ok = alice_client.post(f"/t/a/collections/{shortlist.pk}/rename/", {"name": "SHORTLIST"})
    assert ok.status_code == 302
    assert Collection.objects.get(pk=shortlist.pk).name == "SHORTLIST"


def test_deleting_a_collection_asks_first_and_keeps_the_images(
    alice: User, alice_client: Client, team_a: Team
) -> None:
    img = image(alice)
    shortlist = collection(team_a, "Shortlist", img)
    ask = alice_client.get(f"/t/a/collections/{shortlist.pk}/delete/").content.decode()
    assert "Its 1 image is kept" in ask
    assert Collection.objects.exists()
    response = alice_client.post(f"/t/a/collections/{shortlist.pk}/delete/")
    assert response["Location"] == "/t/a/collections/"
    assert not Collection.objects.exists() and not CollectionItem.objects.exists()
    assert ResultImage.objects.filter(pk=img.pk).exists()
    assert alice_client.get(f"/generations/{img.generation.public_id}/").status_code == 200


def test_images_are_added_once_to_an_existing_or_a_new_collection(
    alice: User, bob: User, alice_client: Client, team_a: Team
) -> None:
    one, two, three = image(alice, "one"), image(bob, "two"), image(alice, "three")
    shortlist = collection(team_a, "Shortlist", one)
    response = alice_client.post(
        "/t/a/collections/add/",
        {"image": [one.pk, two.pk], "collection": shortlist.pk, "next": "/t/a/?q=x"},
    )
    assert response["Location"] == "/t/a/?q=x"
    assert list(shortlist.items.values_list("image_id", flat=True)) == [one.pk, two.pk]
    messages = alice_client.get("/t/a/").content.decode()
    assert "1 image added to “Shortlist” (1 already in it)." in messages

    # A new one, named in the same form (the select says "New collection…").
    response = alice_client.post(
        "/t/a/collections/add/",
        {"image": f"{three.pk},{one.pk}", "collection": "new", "new_name": "Picks"},
    )
    picks = Collection.objects.get(name="Picks")
    assert response["Location"] == f"/t/a/collections/{picks.pk}/"
    assert picks.created_by == alice
    assert list(picks.items.values_list("image_id", flat=True)) == [three.pk, one.pk]
    page = alice_client.get(f"/t/a/collections/{picks.pk}/").content.decode()
    assert page.index(f"image-tile-{three.pk}") < page.index(f"image-tile-{one.pk}")


def test_with_htmx_adding_answers_in_the_bar(alice: User, alice_client: Client) -> None:
    img = image(alice)
    response = alice_client.post(
        "/t/a/collections/add/",
        {"image": img.pk, "collection": "new", "new_name": "Moodboard"},
        **HTMX,
    )
    made = Collection.objects.get()
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 image added to “Moodboard”." in html
    assert f'href="/t/a/collections/{made.pk}/"' in html
    # The bar's list of collections gains the new one, chosen.
    assert 'id="selection-collection"' in html and 'hx-swap-oob="true"' in html
    assert f'<option value="{made.pk}" selected translate="no">Moodboard</option>' in html
    assert json.loads(response["HX-Trigger"]) == {
        "collection-added": {"collection": made.pk, "images": [img.pk]}
    }


def test_a_refused_add_says_why_and_loses_nothing(
    alice: User, alice_client: Client, team_a: Team
) -> None:
    img = image(alice)
    collection(team_a, "Shortlist")
    data = {"image": img.pk, "collection": "new", "new_name": "shortlist", "next": "/t/a/"}
    # With htmx: 200 (so it is shown) with the problem; the inputs are not swapped.
    answer = alice_client.post("/t/a/collections/add/", data, **HTMX).content.decode()
    assert "already has a collection called “shortlist”" in answer and 'role="alert"' in answer
    # Without JavaScript: a page with the ticked image and the typed name still there.
    page = alice_client.post("/t/a/collections/add/", data)
    html = page.content.decode()
    assert page.status_code == 400
    assert f'name="image" value="{img.pk}"' in html and 'value="shortlist"' in html
    nothing = alice_client.post("/t/a/collections/add/", {"collection": "new", "new_name": "X"})
    assert "Tick at least one image to add." in nothing.content.decode()
    assert Collection.objects.count() == 1 and not CollectionItem.objects.exists()


def test_nothing_of_another_team_can_be_collected(
    alice: User, bob: User, charlie: User, alice_client: Client, team_a: Team, team_b: Team
) -> None:
    ours = image(alice)
    theirs = image(charlie)
    private = image(bob, private=True)
    shortlist = collection(team_a, "Shortlist")
    b_collection = collection(team_b, "B's")
    for images, target in (
        ([ours.pk, theirs.pk], shortlist.pk),  # one image of team B spoils the lot
        ([ours.pk, private.pk], shortlist.pk),  # a colleague's "Only me" image
        ([ours.pk], b_collection.pk),  # a collection of team B, by its id
        ([999999], shortlist.pk),
    ):
        response = alice_client.post(
            "/t/a/collections/add/", {"image": images, "collection": target}
        )
        assert response.status_code == 404, (images, target)
    assert not CollectionItem.objects.exists()
    # Alice is also in team B: B's images still cannot go into A's collection.
    team_b.memberships.create(user=alice, role="member")
    response = alice_client.post(
        "/t/a/collections/add/", {"image": theirs.pk, "collection": shortlist.pk}
    )
    assert response.status_code == 404 and not CollectionItem.objects.exists()


def test_a_collection_link_opens_nothing_for_a_stranger(
    alice: User, charlie_client: Client, team_a: Team
) -> None:
    shortlist = collection(team_a, "Shortlist", image(alice))
    for url in (
        f"/t/a/collections/{shortlist.pk}/",
        f"/t/b/collections/{shortlist.pk}/",  # A's collection under the stranger's own team
        f"/t/b/collections/{shortlist.pk}/delete/",
    ):
        assert charlie_client.get(url).status_code == 404, url
    assert (
        charlie_client.post(f"/t/b/collections/{shortlist.pk}/rename/", {"name": "x"}).status_code
        == 404
    )
    assert "Shortlist" not in charlie_client.get("/t/b/collections/").content.decode()


def test_a_colleagues_only_me_image_stays_hidden_in_a_shared_collection(
    alice: User, bob: User, alice_client: Client, bob_client: Client, team_a: Team
) -> None:
    shared = image(alice, "shared")
    private = image(alice, "private", private=True)
    shortlist = collection(team_a, "Shortlist", private, shared)
    alice_client.post(f"/t/a/collections/{shortlist.pk}/cover/", {"image": private.pk})
    assert Collection.objects.get().cover_id == private.pk

    mine = alice_client.get(f"/t/a/collections/{shortlist.pk}/").content.decode()
    assert f"image-tile-{private.pk}" in mine and "2 images" in mine
    theirs = bob_client.get(f"/t/a/collections/{shortlist.pk}/").content.decode()
    assert f"image-tile-{private.pk}" not in theirs and f"image-tile-{shared.pk}" in theirs
    assert "1 image" in theirs and "1 more image in this collection" in theirs
    # The card: bob's count is what he sees, his cover is an image he may see.
    card = bob_client.get("/t/a/collections/").content.decode()
    assert "1 image" in card
    assert str(private.generation.public_id) not in card
    assert str(shared.generation.public_id) in card
    # He can neither take it out nor make it the cover.
    for action in ("remove", "cover"):
        url = f"/t/a/collections/{shortlist.pk}/{action}/"
        assert bob_client.post(url, {"image": private.pk}).status_code == 404
    assert shortlist.items.count() == 2


def test_remove_and_cover(alice: User, alice_client: Client, team_a: Team) -> None:
    one, two, outside = image(alice), image(alice), image(alice)
    shortlist = collection(team_a, "Shortlist", one, two)
    url = f"/t/a/collections/{shortlist.pk}/"
    assert alice_client.post(f"{url}cover/", {"image": outside.pk}).status_code == 404
    cover = alice_client.post(f"{url}cover/", {"image": two.pk, "next": url})
    assert cover["Location"] == f"{url}#image-tile-{two.pk}"
    assert Collection.objects.get().cover_id == two.pk
    assert "Cover</span>" in alice_client.get(url).content.decode()
    # Removing the cover image leaves the card to show the first image again.
    removed = alice_client.post(f"{url}remove/", {"image": two.pk}, **HTMX)
    assert removed.status_code == 200 and removed.content == b""
    shortlist.refresh_from_db()
    assert shortlist.cover_id is None
    assert list(shortlist.items.values_list("image_id", flat=True)) == [one.pk]
    assert ResultImage.objects.filter(pk=two.pk).exists()
    plain = alice_client.post(f"{url}remove/", {"image": one.pk})
    assert plain["Location"] == url and not shortlist.items.exists()


def test_deleting_a_job_takes_its_images_out_of_collections(
    alice: User, alice_client: Client, team_a: Team
) -> None:
    job = make_generation(alice, state=State.COMPLETED)
    img = save_result(job, 0, png_bytes())
    keep = image(alice)
    shortlist = collection(team_a, "Shortlist", img, keep)
    shortlist.cover = img
    shortlist.save()
    Favourite.objects.create(user=alice, image=img)
    alice_client.post(f"/generations/{job.public_id}/delete/")
    assert not Generation.objects.filter(pk=job.pk).exists()
    shortlist.refresh_from_db()
    assert shortlist.cover is None
    assert list(shortlist.items.values_list("image_id", flat=True)) == [keep.pk]
    assert not Favourite.objects.exists()
    assert alice_client.get(f"/t/a/collections/{shortlist.pk}/").status_code == 200


def test_pages_with_tiles_carry_the_bar_and_the_lightbox_picker(
    alice: User, alice_client: Client, vera_client: Client, team_a: Team
) -> None:
    img = image(alice)
    shortlist = collection(team_a, "Shortlist", img)
    for url in ("/t/a/", f"/t/a/collections/{shortlist.pk}/"):
        html = alice_client.get(url).content.decode()
        assert 'id="selection-form"' in html and 'data-team="a"' in html
        picker = html.split('<template id="collection-picker">', 1)[1].split("</template>", 1)[0]
        assert 'action="/t/a/collections/add/"' in picker
        assert '<input type="hidden" name="image" value="">' in picker
        assert f'<option value="{shortlist.pk}" translate="no">Shortlist</option>' in picker
        assert "New collection…" in picker
        assert 'name="source" value="selection"' in html  # the bar's "Download as ZIP"
    # A viewer ticks images to compare or download them, but adds to no collection.
    viewer = vera_client.get("/t/a/").content.decode()
    assert 'id="selection-form"' in viewer and "collection-picker" not in viewer
    assert 'name="new_name"' not in viewer
