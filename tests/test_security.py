"""Security settings a reviewer expects: login throttling, CSP, caching, HTTPS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("login_url", ["/login/", "/admin/login/"])
def test_repeated_failed_logins_are_throttled_with_a_clear_message(
    alice: User, login_url: str, settings
) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(login_url, {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
    locked = client.post(login_url, {"username": "alice", "password": "wrong"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "paused for 15 min 00 s" in locked.content.decode()
    # Even the right password waits out the cool-down.
    right = client.post(login_url, {"username": "alice", "password": PASSWORD})
    assert right.status_code == 429
    # Another person, or alice from elsewhere, is not locked out.
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert other.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_a_success_resets_the_failure_count(alice: User, settings) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": "alice", "password": "wrong"})
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/login/", {"username": "alice", "password": "x"}).status_code == 200


def test_pages_carry_a_csp_without_inline_scripts(alice_client: Client) -> None:
    policy = alice_client.get("/t/a/")["Content-Security-Policy"]
    directives = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, _, value = part.partition(" ")
        directives[name] = value
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_signed_in_pages_are_not_stored_by_caches(alice_client: Client, client: Client) -> None:
    for url in ("/t/a/", "/t/a/history/", "/t/a/members/", "/t/a/usage/"):
        assert "no-store" in alice_client.get(url)["Cache-Control"], url
    assert "Cache-Control" not in client.get("/healthz")  # nothing of anyone's


def test_changing_a_password_logs_out_every_other_session(alice: User) -> None:
    elsewhere = Client()
    elsewhere.post("/login/", {"username": "alice", "password": PASSWORD})
    assert elsewhere.get("/t/a/").status_code == 200
    alice.set_password("a new, long passphrase")
    alice.save()
    response = elsewhere.get("/t/a/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_check_deploy_is_clean_for_a_production_environment() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SECRET_KEY": "x" * 60 + "-production-like-secret-key-for-the-check",
        "DJANGO_ALLOWED_HOSTS": "playground.example.com",
        "PUBLIC_BASE_URL": "https://playground.example.com",
        "DJANGO_DEBUG": "0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_error_pages_are_our_own(alice_client: Client, vera_client: Client) -> None:
    missing = alice_client.get("/t/nowhere/")
    assert missing.status_code == 404 and 'data-testid="error-404"' in missing.content.decode()
    refused = vera_client.post("/t/a/", {})
    assert refused.status_code == 403 and 'data-testid="error-403"' in refused.content.decode()


def test_a_server_error_shows_our_page_and_no_traceback(settings) -> None:  # type: ignore[no-untyped-def]
    from django.views.defaults import server_error

    settings.DEBUG = False
    from django.test import RequestFactory

    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500 and 'data-testid="error-500"' in html
    assert "Traceback" not in html


def test_the_debug_page_never_shows_database_or_redis_credentials(settings) -> None:  # type: ignore[no-untyped-def]
    from django.views.debug import get_default_exception_reporter_filter

    settings.REDIS_URL = "redis://:hunter2@cache.internal:6379/0"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": settings.REDIS_URL}
    shown = str(get_default_exception_reporter_filter().get_safe_settings())
    assert "hunter2" not in shown
    assert "REDIS_URL" in shown  # listed, with its value hidden


def test_a_login_expires_when_idle_and_self_refreshing_pages_do_not_count(
    alice_client: Client,
) -> None:
    import time

    from playground.lib.refreshing import FRAGMENTS

    alice_client.get("/t/a/")
    session = alice_client.session
    first = session["active_at"]
    assert session.get_expiry_age() == 12 * 3600

    # Five minutes and more later: the live history's own checks change nothing, nor
    # does any other fragment refreshing itself (htmx names the element that asked)...
    session["active_at"] = first - 400
    session.save()
    alice_client.get("/t/a/history/", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="history")
    for name in FRAGMENTS:
        alice_client.get("/t/a/members/", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER=name)
    assert alice_client.session["active_at"] == first - 400
    # ...what the person does pushes the end of the login back, with htmx too.
    alice_client.get("/t/a/history/", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="history-filters")
    assert alice_client.session["active_at"] >= int(time.time()) - 5
    session = alice_client.session
    session["active_at"] = first - 400
    session.save()
    alice_client.get("/t/a/members/")
    assert alice_client.session["active_at"] >= int(time.time()) - 5


def test_every_element_that_polls_is_one_the_idle_check_ignores() -> None:
    """A page that refreshes itself must not keep an idle login alive (the matrix run's
    grid and an export's status once did): every polling element takes its trigger from
    lib/refreshing.py through `{% refresh_trigger "name" %}`, on the element whose id is
    that name (the id htmx sends), and no template writes `hx-trigger="every …"` itself."""
    import re
    from pathlib import Path

    from playground.lib.refreshing import FRAGMENTS

    used: set[str] = set()
    for template in (Path(__file__).resolve().parent.parent / "templates").rglob("*.html"):
        text = template.read_text()
        assert not re.search(r'hx-trigger="[^"]*\bevery\b', text), (
            f"{template}: polls without {{% refresh_trigger %}}"
        )
        for match in re.finditer(r'{%\s*refresh_trigger\s+"([^"]+)"', text):
            name = match.group(1)
            start = text.rfind("<", 0, match.start())
            ids = re.findall(r'\bid="([^"]+)"', text[start : match.start()])
            assert ids == [name], f"{template}: {name} polls from an element with id {ids}"
            used.add(name)
    assert {"history", "run-grid", "export-status"} <= used
    assert used == set(FRAGMENTS), set(FRAGMENTS) ^ used


def test_the_refresh_trigger_writes_the_registered_interval() -> None:
    from django.template import Context, Template, TemplateSyntaxError

    from playground.lib.refreshing import FRAGMENTS

    def render(source: str) -> str:
        return Template("{% load refreshing %}" + source).render(Context())

    assert FRAGMENTS["export-status"].seconds == 1
    assert render('{% refresh_trigger "export-status" %}') == 'hx-trigger="every 1s"'
    assert (
        render('{% refresh_trigger "history" also="history-changed from:body" %}')
        == 'hx-trigger="history-changed from:body, every 2s"'
    )
    with pytest.raises(TemplateSyntaxError):
        render('{% refresh_trigger "no-such-fragment" %}')


# --- Issue 19, finding 7 ------------------------------------------------------------


def test_a_short_idle_limit_still_keeps_a_working_person_signed_in(
    alice_client: Client,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """With a 2-minute limit, activity is written every 12 s, not every 5 minutes: a
    person clicking once a minute is never logged out."""
    import time

    settings.SESSION_COOKIE_AGE = 120
    alice_client.get("/t/a/")
    session = alice_client.session
    session["active_at"] = int(time.time()) - 60  # their last click, a minute ago
    session.save()
    alice_client.get("/t/a/members/")
    assert alice_client.session["active_at"] >= int(time.time()) - 5


def test_the_language_cookie_is_secure_and_same_site_under_https() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SECRET_KEY": "x" * 60,
        "PUBLIC_BASE_URL": "https://playground.example.com",
        "DJANGO_SETTINGS_MODULE": "playground.settings",
    }
    code = (
        "from django.conf import settings as s;"
        "print(s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_SAMESITE)"
    )
    result = subprocess.run(  # noqa: S603  (our own interpreter and code)
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["True", "Lax"], result.stderr


def test_the_language_cookie_is_same_site(client: Client) -> None:
    response = client.post("/language/", {"language": "ja", "next": "/login/"})
    assert response.cookies["django_language"]["samesite"] == "Lax"
