"""playground/lib: the shared web plumbing, on its own."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from playground.lib.redirects import safe_next

FALLBACK = "/t/a/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "http://evil.example/t/a/",
        "//evil.example/",  # scheme-relative: the browser keeps the scheme, not the host
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "https:evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_safe_next_refuses_what_leaves_the_site(target: str) -> None:
    request = RequestFactory().post("/x/", {"next": target})
    assert safe_next(request, FALLBACK) == FALLBACK


@pytest.mark.parametrize(
    "target", ["/t/a/?view=mine&q=fox", "/generations/1/#image-tile-3", "http://testserver/t/a/"]
)
def test_safe_next_accepts_a_page_of_this_site(target: str) -> None:
    request = RequestFactory().post("/x/", {"next": target})
    assert safe_next(request, FALLBACK) == target


def test_safe_next_refuses_plain_http_on_an_https_site() -> None:
    request = RequestFactory().post("/x/", {"next": "http://testserver/t/a/"}, secure=True)
    assert safe_next(request, FALLBACK) == FALLBACK
    request = RequestFactory().post("/x/", {"next": "https://testserver/t/a/"}, secure=True)
    assert safe_next(request, FALLBACK) == "https://testserver/t/a/"


def test_safe_next_reads_the_referer_first_only_when_asked() -> None:
    factory = RequestFactory()
    request = factory.post("/x/", {"next": "/from-form/"}, HTTP_REFERER="/from-referer/")
    assert safe_next(request, FALLBACK) == "/from-form/"
    assert safe_next(request, FALLBACK, referer=True) == "/from-referer/"
    # A foreign Referer is skipped, not followed: the form's own `next` is next in line.
    request = factory.post("/x/", {"next": "/from-form/"}, HTTP_REFERER="https://evil.example/")
    assert safe_next(request, FALLBACK, referer=True) == "/from-form/"
