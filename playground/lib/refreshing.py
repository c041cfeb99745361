"""The fragments that refresh themselves, and how often: declared once, here.

Templates write a polling element's trigger with `{% refresh_trigger "name" %}` (the
template tag `refreshing`), which reads the interval from this list; the idle-login rule
(lib/middleware.py) reads the same list to know a request the page sent by itself.

htmx sends the id of the element that fired a request in the HX-Trigger header, so a
fragment's name is the id of its polling element. tests/test_security.py fails when a
template polls other than through the tag, or from an element whose id is not its name.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Refreshing:
    name: str  # the polling element's id, which htmx sends as HX-Trigger
    seconds: int  # how often it asks while it shows something unfinished


FRAGMENTS: dict[str, Refreshing] = {
    fragment.name: fragment
    for fragment in (
        Refreshing("history", 2),  # the studio's history (an empty 204 while unchanged)
        Refreshing("generation-detail", 2),  # a job's page while it runs
        Refreshing("keys-page", 2),  # the keys page while a balance check is on its way
        Refreshing("run-grid", 2),  # a matrix run's grid while a job is in flight
        Refreshing("export-status", 1),  # a ZIP export while it is built
        Refreshing("contract-check", 2),  # the contract check's table while it runs
        # Comment threads on a page (static/js/comments.js; an empty 204 while unchanged).
        Refreshing("comments-live", 4),
    )
}


def trigger(name: str, also: str = "") -> str:
    """The hx-trigger value of the fragment `name`: its interval, after `also` (other
    events that refresh it, such as "history-changed from:body") when given."""
    every = f"every {FRAGMENTS[name].seconds}s"
    return f"{also}, {every}" if also else every


def is_automatic(trigger_id: str | None) -> bool:
    """Whether a request came from a fragment refreshing itself, by the id htmx sent."""
    return trigger_id in FRAGMENTS
