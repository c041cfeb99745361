"""The language of the pages: who chooses it, what follows it, what it never touches.

A person's saved preference wins, else their browser's Accept-Language, else English;
the header's menu changes it at once and remembers it. Stored messages (a job's
failure reason) are English in the database and read in each reader's language.

These tests do not depend on the project's catalogues being finished: they use
Django's own Korean and Japanese (humanize's "now") or a tiny catalogue compiled here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from playground import stored_messages
from playground.evolink.errors import ERRORS, UPLOAD_REFUSED
from playground.generations.models import Generation, State
from playground.teams.models import Profile
from tests.conftest import logged_in
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

POLICY = ERRORS["content_policy_violation"].message
# gettext's compiler (Debian's gettext package, which makemessages needs anyway).
MSGFMT = shutil.which("msgfmt") or "msgfmt"


def lang_of(response) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'<html lang="([^"]+)"', response.content.decode())[1]


def save_language(user: User, code: str) -> None:
    Profile.objects.update_or_create(user=user, defaults={"language": code})


# --- Which language -------------------------------------------------------------------


def test_without_a_choice_the_pages_are_english(client: Client) -> None:
    response = client.get("/login/")
    assert lang_of(response) == "en" and response["Content-Language"] == "en"


def test_the_browser_language_is_used_when_nothing_is_saved(client: Client, alice: User) -> None:
    assert lang_of(client.get("/login/", headers={"accept-language": "ko,en;q=0.5"})) == "ko"
    alice_client = logged_in(alice)
    response = alice_client.get("/t/a/", headers={"accept-language": "ja"})
    assert lang_of(response) == "ja" and response["Content-Language"] == "ja"
    # A language we do not offer falls back to English.
    assert lang_of(alice_client.get("/t/a/", headers={"accept-language": "fr"})) == "en"


def test_a_saved_preference_wins_over_the_browser(alice: User) -> None:
    save_language(alice, "ja")
    response = logged_in(alice).get("/t/a/", headers={"accept-language": "ko"})
    assert lang_of(response) == "ja" and response["Content-Language"] == "ja"


# --- The menu -------------------------------------------------------------------------


def test_the_menu_names_each_language_in_its_own_language(client: Client) -> None:
    html = client.get("/login/", headers={"accept-language": "ko"}).content.decode()
    menu = html.split('data-testid="language-menu"', 1)[1].split("</details>", 1)[0]
    for code, name in (("en", "English"), ("ko", "한국어"), ("ja", "日本語")):
        assert f'value="{code}" lang="{code}" translate="no"' in menu
        assert f">{name}</button>" in menu
    assert 'value="ko" lang="ko" translate="no" aria-current="true"' in menu
    assert "csrfmiddlewaretoken" in menu


def test_anyone_may_choose_and_the_cookie_remembers_it(client: Client) -> None:
    response = client.post("/language/", {"language": "ja", "next": "/login/?next=/t/a/"})
    assert response.status_code == 302 and response["Location"] == "/login/?next=/t/a/"
    assert client.cookies["django_language"].value == "ja"
    # At once, and over the browser's own wish.
    assert lang_of(client.get("/login/", headers={"accept-language": "ko"})) == "ja"


def test_the_menu_never_sends_people_elsewhere(client: Client) -> None:
    response = client.post("/language/", {"language": "ko", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"
    response = client.post(
        "/language/",
        {"language": "ko", "next": ""},
        headers={"referer": "http://testserver/login/"},
    )
    assert response["Location"] == "http://testserver/login/"


def test_the_menu_keeps_csrf(alice: User) -> None:
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(alice)
    assert guarded.post("/language/", {"language": "ko"}).status_code == 403
    assert Profile.objects.filter(user=alice, language="ko").count() == 0


def test_a_signed_in_choice_is_saved_in_the_profile(alice: User) -> None:
    alice_client = logged_in(alice)
    alice_client.get("/t/a/")  # the session now holds "automatic"
    response = alice_client.post("/language/", {"language": "ko", "next": "/t/a/"})
    assert response.status_code == 302 and response["Location"] == "/t/a/"
    assert Profile.objects.get(user=alice).language == "ko"
    # At once in this session, whatever the browser says...
    assert lang_of(alice_client.get("/t/a/", headers={"accept-language": "ja"})) == "ko"
    # ...and on another device, which has no cookie.
    assert lang_of(logged_in(alice).get("/t/a/", headers={"accept-language": "ja"})) == "ko"


def test_only_offered_languages_are_saved(alice: User) -> None:
    alice_client = logged_in(alice)
    alice_client.post("/language/", {"language": "fr", "next": "/t/a/"})
    assert not Profile.objects.filter(user=alice).exclude(language="").exists()
    assert lang_of(alice_client.get("/t/a/")) == "en"


# --- What follows the language ----------------------------------------------------------


def test_htmx_fragments_speak_the_page_language(alice: User) -> None:
    make_generation(alice, prompt="a fox", state=State.COMPLETED)
    save_language(alice, "ja")
    response = logged_in(alice).get(
        "/t/a/history/", headers={"hx-request": "true", "accept-language": "ko"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and response["Content-Language"] == "ja"
    # Django's own Japanese for a moment ago (humanize), whatever our catalogues hold.
    assert ">今</time>" in html
    assert '<span translate="no">a fox</span>' in html


def test_the_live_check_costs_no_query_for_the_language(alice: User) -> None:
    save_language(alice, "ko")
    alice_client = logged_in(alice)
    make_generation(alice, state=State.RUNNING)
    html = alice_client.get("/t/a/history/").content.decode()
    url = html.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    with CaptureQueriesContext(connection) as queries:
        response = alice_client.get(url)
    assert response.status_code == 204
    # The session, the user, the membership, the history clock: as without languages.
    assert len(queries) == 4, [q["sql"][:60] for q in queries]
    assert "teams_profile" not in " ".join(q["sql"] for q in queries)


def test_people_s_own_words_are_marked_as_not_for_translation(alice: User) -> None:
    job = make_generation(alice, prompt="a fox", state=State.COMPLETED)
    html = logged_in(alice).get(f"/generations/{job.public_id}/").content.decode()
    assert '<blockquote class="prompt" translate="no">a fox</blockquote>' in html
    assert '<span translate="no">alice</span>' in html
    assert '<code translate="no">gpt-image-2</code>' in html


# --- Stored messages in the reader's language -------------------------------------------


@pytest.fixture
def korean_catalogue(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A tiny Korean catalogue for a few stored messages and one script message."""
    entries = {
        POLICY: "KO: 콘텐츠 필터가 막았습니다.",
        stored_messages.CANCELLED_BY: "KO: %(name)s 님이 취소했습니다.",
        ERRORS["invalid_request"].message: "KO: 잘못된 요청입니다.",
    }
    folder = tmp_path / "ko" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    for domain, table in (("django", entries), ("djangojs", {"Link copied": "KO: 복사됨"})):
        po = folder / f"{domain}.po"
        po.write_text(
            'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            + "".join(
                f'msgid "{msgid}"\nmsgstr "{msgstr}"\n\n'
                for msgid, msgstr in ((k.replace('"', '\\"'), v) for k, v in table.items())
            ),
            encoding="utf-8",
        )
        command = [MSGFMT, "-o", str(po.with_suffix(".mo")), str(po)]
        subprocess.run(command, check=True)  # noqa: S603 - our own paths
    with override_settings(LOCALE_PATHS=[tmp_path]):
        yield


def test_an_upstream_error_reads_in_the_reader_s_language(
    korean_catalogue: None, alice: User, bob: User
) -> None:
    job = make_generation(
        alice,
        state=State.FAILED,
        error_code="content_policy_violation",
        error_message=POLICY,
    )
    save_language(bob, "ko")
    html = logged_in(bob).get(f"/generations/{job.public_id}/").content.decode()
    assert "KO: 콘텐츠 필터가 막았습니다." in html and POLICY not in html
    # The history says it the same way; the English reader still reads English.
    assert "KO: 콘텐츠 필터가 막았습니다." in logged_in(bob).get("/t/a/history/").content.decode()
    assert POLICY in logged_in(alice).get(f"/generations/{job.public_id}/").content.decode()
    # The database keeps the English, the fallback for everything unknown.
    assert Generation.objects.get(pk=job.pk).error_message == POLICY


def test_stored_messages_with_names_and_details_are_translated_around_them(
    korean_catalogue: None,
) -> None:
    with translation.override("ko"):
        cancelled = stored_messages.CANCELLED_BY % {"name": "bob"}
        assert stored_messages.readable(cancelled, "cancelled") == "KO: bob 님이 취소했습니다."
        # A 400's message goes on with the upstream's own words: those stay as they came.
        detail = ERRORS["invalid_request"].message + " size must be 1024x1024"
        assert stored_messages.readable(detail) == "KO: 잘못된 요청입니다. size must be 1024x1024"
        # The upload's reason is itself one of ours.
        refused = UPLOAD_REFUSED % {"reason": POLICY}
        assert stored_messages.readable(refused).endswith("KO: 콘텐츠 필터가 막았습니다.")
        # Unknown text (the upstream's, an older wording) is shown as stored.
        assert stored_messages.readable("Something else.", "weird") == "Something else."
        assert stored_messages.readable("") == ""


def test_a_cancellation_is_stored_in_english_whoever_cancels(alice: User) -> None:
    job = make_generation(alice, state=State.QUEUED)
    with translation.override("ja"):
        assert job.cancel(alice)
    job.refresh_from_db()
    assert job.error_message == ("Cancelled by alice before it was sent to EvoLink: not charged.")


# --- The scripts' messages ----------------------------------------------------------------


def test_the_javascript_catalogue_is_served_as_a_script(korean_catalogue: None) -> None:
    client = Client()
    response = client.get("/jsi18n/", headers={"accept-language": "ko"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert "django.gettext = function" in body
    assert json.dumps("KO: 복사됨") in body  # the script's own message, in Korean
    assert "eval(" not in body and "new Function" not in body
    # Kept a day by the browser: its address changes with the language and catalogue.
    assert "max-age=86400" in response["Cache-Control"]
    # Every page loads it before the scripts that use it.
    html = client.get("/login/", headers={"accept-language": "ko"}).content.decode()
    assert html.index('src="/jsi18n/?l=ko&amp;v=') < html.index("js/gallery.js")
    html = client.get("/login/", headers={"accept-language": "ja"}).content.decode()
    assert 'src="/jsi18n/?l=ja&amp;v=' in html
