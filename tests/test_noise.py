"""What a fresh start and every page must not print or log: WhiteNoise's warning about
a missing STATIC_ROOT, a 404 for the site's icon (the browser tests watch the console
of every page: tests/test_browser_console.py), and gunicorn's warning about a body on an
answer to HEAD."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from playground.wsgi import application

ROOT = Path(__file__).resolve().parent.parent


def test_a_fresh_start_prints_no_static_files_warning() -> None:
    static_root = Path(settings.STATIC_ROOT)
    if static_root.is_dir() and not any(static_root.iterdir()):
        static_root.rmdir()  # as in a fresh clone: nothing collected yet
    # The WSGI application builds WhiteNoise's middleware, which scans STATIC_ROOT.
    # Our own settings module, with fixed arguments.
    started = subprocess.run(
        [
            sys.executable,
            "-W",
            "error::UserWarning",
            "-c",
            "from playground.wsgi import application",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    assert "No directory at" not in started.stderr


@pytest.mark.django_db
def test_the_icon_is_served_to_anyone_at_the_root_and_in_static(client: Client) -> None:
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200
    assert ico["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert b"".join(ico.streaming_content).startswith(b"\x00\x00\x01\x00")  # an ICO file
    login = client.get("/login/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg["Content-Type"].startswith("image/svg+xml")


@pytest.mark.django_db
def test_an_answer_to_head_has_the_headers_of_get_and_no_body() -> None:
    environ = RequestFactory().head("/login/").environ
    started: list[tuple[str, dict[str, str]]] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> Callable[[bytes], object]:
        started.append((status, dict(headers)))
        return lambda data: None

    body = b"".join(application(environ, start_response))
    status, headers = started[0]
    assert status == "200 OK"
    assert body == b""
    assert int(headers["Content-Length"]) > 1000  # the page's, as RFC 9110 allows
