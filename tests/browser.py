"""Playwright in Debian's Chromium (`apt-get install chromium`), never a downloaded browser.

Imported by the browser tests' conftest: pytest-playwright's fixtures are pointed at
the system Chromium, launched headless with the flags this network needs.
"""

from __future__ import annotations

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls
# from such a thread unless told that this single-threaded use is fine.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError(
            "Debian's chromium is not installed: run `apt-get install chromium` "
            "(the test command .ci/test does it for you)."
        )
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


def wait_for_htmx(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until htmx has no request in flight and has settled every swap.

    A person never clicks within the 20 ms after a swap; a test does, before htmx
    has wired up the new fragment.
    """
    page.wait_for_function(
        "() => !document.querySelector("
        "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


# Every browser test runs with the real Content-Security-Policy and fails on any
# violation Chromium reports (tests/conftest.py checks after each browser test).
CSP_VIOLATIONS: list[str] = []


def watch_csp(context) -> None:  # type: ignore[no-untyped-def]
    def seen(message) -> None:  # type: ignore[no-untyped-def]
        if "Content Security Policy" in message.text:
            CSP_VIOLATIONS.append(message.text)

    context.on("console", seen)
