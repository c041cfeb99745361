"""Multi-select and favourites in headless Chromium: three images ticked across two
pages of the history (the ticks survive paging and the live refresh) go into a new
collection whose page shows them; a star shows in the "Favourites" filter."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from playground.gallery.models import Collection, Favourite
from playground.generations.jobs import save_result
from playground.generations.models import ResultImage, State
from playground.teams.models import Membership, Role, Team
from tests.browser import browser_type_launch_args, wait_for_htmx  # noqa: F401 - fixture
from tests.factories import make_generation, png_bytes
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def finished(user: User, team: Team, prompt: str) -> ResultImage:
    job = make_generation(user, team=team, prompt=prompt, state=State.COMPLETED)
    return save_result(job, 0, png_bytes(48, 32, "teal"))


def tick(page: Page, image: ResultImage) -> None:
    page.locator(f"#image-tile-{image.pk} [data-select-image]").check()


def test_tick_three_images_into_a_new_collection_and_star_one(
    browser: Browser, live_server
) -> None:
    team = Team.objects.create(name="Studio North", slug="north")
    lea = User.objects.create_user("lea", password=PASSWORD)
    Membership.objects.create(user=lea, team=team, role=Role.MEMBER)
    # 22 jobs: the oldest two are on the second page of the history.
    images = [finished(lea, team, f"poster {i}") for i in range(22)]
    page = person(browser, live_server.url, "lea")
    bar = page.locator("#selection-form")
    expect(bar).to_be_hidden()

    # Two on the first page, one on the second: the selection survives paging.
    tick(page, images[21])
    tick(page, images[20])
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("2 selected")
    page.get_by_role("link", name=re.compile("Older jobs")).click()
    wait_for_htmx(page)
    tick(page, images[0])
    expect(bar).to_contain_text("3 selected")
    expect(bar.locator("[data-compare]")).to_have_attribute(
        "href", f"/compare/?images={images[21].pk},{images[20].pk},{images[0].pk}"
    )
    page.get_by_role("link", name=re.compile("Newest jobs")).click()
    wait_for_htmx(page)
    expect(page.locator(f"#image-tile-{images[21].pk} [data-select-image]")).to_be_checked()

    # A colleague's new job redraws the history (live refresh): the ticks stay.
    finished(lea, team, "a job that arrives meanwhile")
    expect(page.locator(".history-item", has_text="a job that arrives meanwhile")).to_be_visible()
    expect(page.locator(f"#image-tile-{images[20].pk} [data-select-image]")).to_be_checked()
    expect(bar).to_contain_text("3 selected")

    # Into a new collection, from the bar.
    bar.get_by_label("Collection", exact=True).select_option(label="New collection…")
    bar.get_by_label("Name of the new collection").fill("Shortlist")
    bar.get_by_role("button", name="Add to collection").click()
    expect(bar.get_by_test_id("selection-done")).to_contain_text("3 images added to “Shortlist”.")
    expect(page.locator("[data-select-image]:checked")).to_have_count(0)
    shortlist = Collection.objects.get(name="Shortlist")
    assert sorted(shortlist.items.values_list("image_id", flat=True)) == sorted(
        [images[21].pk, images[20].pk, images[0].pk]
    )

    # The collection's page, the link a colleague would open, shows the three.
    bar.get_by_role("link", name="Open “Shortlist”").click()
    expect(page).to_have_url(re.compile(rf"/t/north/collections/{shortlist.pk}/$"))
    expect(page.get_by_test_id("collection-name")).to_have_text("Shortlist")
    expect(page.locator(".collection-grid .tile")).to_have_count(3)
    for image in (images[21], images[20], images[0]):
        expect(page.locator(f"#image-tile-{image.pk}")).to_be_visible()

    # A star, then the "Favourites" filter shows that job only.
    page.get_by_role("link", name="Studio", exact=True).click()
    star = page.locator(f"#image-tile-{images[19].pk}").get_by_role(
        "button", name="Add to favourites"
    )
    star.click()
    expect(
        page.locator(f"#image-tile-{images[19].pk}").get_by_role(
            "button", name="Remove from favourites"
        )
    ).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f"#image-tile-{images[19].pk} a[data-lightbox]")).to_have_attribute(
        "data-favourited", "true"
    )
    assert Favourite.objects.filter(user=lea, image=images[19]).exists()
    page.get_by_test_id("favourites-filter").click()
    wait_for_htmx(page)
    expect(page).to_have_url(re.compile(r"favourites=1"))
    expect(page.locator(".history-item")).to_have_count(1)
    expect(page.locator(".history-item")).to_contain_text("poster 19")
