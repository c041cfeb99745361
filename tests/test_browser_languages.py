"""The playground in Korean and in Japanese, walked in a real browser.

A team admin picks the language in the header's menu, then opens the studio (with its
history), a job's page, a failed job, the team page, the usage page, the matrix page,
the collections, a collection, a comparison and the lightbox. On each, every
piece of text a person can read (text, placeholders, titles, labels, alternative
texts) is collected, except people's own words (elements marked translate="no":
prompts, names, team names, model ids), and no English word may be left but those of
ALLOWED. Each page is photographed (for the README: see SHOTS). A long prompt
without spaces must not make any page wider than a phone's screen.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from playground.gallery import collections
from playground.gallery.models import Collection
from playground.teams.models import Invitation, Role
from tests.browser import browser_type_launch_args  # noqa: F401 - fixture
from tests.factories import team_at_work
from tests.test_browser_team import PASSWORD, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
# The README's pictures are refreshed on purpose, not by every CI run (which would leave
# the tree changed): I18N_SCREENSHOTS=docs/img/i18n pytest tests/test_browser_languages.py
SHOTS = ROOT / os.environ.get("I18N_SCREENSHOTS", "test-results/i18n")

# English that stays English in every language: product and company names, file
# formats, units and key names. Model ids are in translate="no" elements already.
ALLOWED = {
    "GPT",
    "Image",
    "EvoLink",
    "OpenAI",
    "API",
    "PNG",
    "JPEG",
    "JPG",
    "WEBP",
    "WebP",
    "ZIP",
    "CSV",
    "JSON",
    "px",
    "MB",
    "KB",
    "GB",
    "Ctrl",
    "Enter",
    "Esc",
    "USD",
    # The alerts' webhook (team page): Slack is a product; URL an acronym like API;
    # Japanese interfaces write "Webhook" in Latin letters (Korean says 웹훅).
    "Slack",
    "URL",
    "Webhook",
}

# Every readable text of the page, but people's own words (translate="no") and what is
# not text at all (scripts, styles, templates, icons). Attributes count even on hidden
# elements: a closed dialog's labels are read out the moment it opens.
READABLE = """() => {
    const skipped = (el) => el.closest('[translate="no"], script, style, template, svg');
    const texts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const el = walker.currentNode.parentElement;
        if (!el || skipped(el) || !el.getClientRects().length) continue;
        const text = walker.currentNode.textContent.trim();
        if (text) texts.push(text);
    }
    for (const el of document.body.querySelectorAll("*")) {
        if (skipped(el)) continue;
        for (const name of ["placeholder", "title", "aria-label", "alt"]) {
            const value = el.getAttribute(name);
            if (value) texts.push(value);
        }
        if (el.matches("input[type=submit], input[type=button]")) texts.push(el.value);
    }
    texts.push(document.title);
    return texts;
}"""

WORD = re.compile(r"[A-Za-z][A-Za-z']+")
# Code a person types as it is, inside translated sentences: addresses, environment
# variables and their values (PUBLIC_BASE_URL, EVOLINK_REFERENCE_HOST=files-api), a
# template's {variables}.
CODE = re.compile(
    r"https?://\S+|(?<![A-Za-z0-9_])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|=[\w-]+"
    # A prompt template's {variables} (the matrix page's example: "{colour} 우비를 입은 {animal}").
    r"|\{\w+\}"
)


# People's own words that titles and labels carry ("Members · Studio North"), where an
# attribute cannot say translate="no".
OWN_WORDS = {"Studio", "North", "ana", "Foxes"}


def english_left(page: Page) -> list[str]:
    found = []
    for text in page.evaluate(READABLE):
        words = [w for w in WORD.findall(CODE.sub(" ", text)) if w not in ALLOWED | OWN_WORDS]
        if words:
            found.append(text)
    return sorted(set(found))


def choose_language(page: Page, name: str) -> None:
    """The header's language menu, as a person uses it."""
    page.get_by_test_id("language-menu").locator("summary").click()
    page.get_by_role("button", name=name).click()


@pytest.mark.parametrize(
    ("code", "name", "history"),
    [("ko", "한국어", "기록"), ("ja", "日本語", "履歴")],
)
def test_every_page_reads_in_korean_and_in_japanese(
    browser: Browser, live_server, code: str, name: str, history: str
) -> None:
    # People's own words stay as they wrote them; this one has no space to wrap at.
    long_prompt = {"ko": "바다위의종이배와아침빛", "ja": "水たまりに浮かぶ紙の舟"}[code] * 12
    ana, done, failed = team_at_work(PASSWORD, prompt=long_prompt)
    # Something in the gallery's pages: a collection of the finished job's two images.
    images = list(done.images.order_by("index"))
    collection = Collection.objects.create(team=done.team, name="Foxes", created_by=ana)
    collections.add(collection, images, ana)
    # The team page lists an open invitation.
    Invitation.issue(done.team, Role.MEMBER, ana)

    page = person(browser, live_server.url, "ana")
    choose_language(page, name)
    expect(page.locator("html")).to_have_attribute("lang", code)
    expect(page.locator("#pane-history h2")).to_have_text(history)

    pages = {
        "studio": "/t/north/",
        "job": f"/generations/{done.public_id}/",
        "failed-job": f"/generations/{failed.public_id}/",
        "team": "/t/north/members/",
        "usage": "/t/north/usage/",
        "matrix": "/t/north/matrix/",
        "collections": "/t/north/collections/",
        "collection": f"/t/north/collections/{collection.pk}/",
        "compare": f"/compare/?images={images[0].pk},{images[1].pk}",
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    left: dict[str, list[str]] = {}
    for page_name, url in pages.items():
        page.goto(url)
        expect(page.locator("html")).to_have_attribute("lang", code)
        left[page_name] = english_left(page)
        page.screenshot(path=SHOTS / f"{code}-{page_name}.png")
    # The lightbox, open over the history.
    page.goto("/t/north/")
    page.locator(f"#image-tile-{images[0].pk} a[data-lightbox]").click()
    expect(page.get_by_test_id("lightbox")).to_be_visible()
    left["lightbox"] = english_left(page)
    page.screenshot(path=SHOTS / f"{code}-lightbox.png")
    page.keyboard.press("Escape")

    # The failed job's reason is EvoLink's code, read in the reader's language.
    page.goto(f"/generations/{failed.public_id}/")
    assert "The content filter" not in page.locator("main").inner_text()

    # A phone: the long prompt wraps, nothing is wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    for url in pages.values():
        page.goto(url)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (url, overflow)

    # Every page is read before the verdict, so one run lists every English leftover.
    left = {name: texts for name, texts in left.items() if texts}
    assert left == {}, "\n".join(f"{n}: {t!r}" for n, texts in left.items() for t in texts)
