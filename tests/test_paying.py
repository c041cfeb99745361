"""Say what pays, and do not accept a job no key can pay for.

Which key would pay is asked without decrypting anything (playground/billing/paying.py):
the team's and the shared keys that are enabled, awake and not refused the model, then
EVOLINK_API_KEY. With none, Generate is disabled with the reason and what to do (a
member asks an admin, an admin adds a key), and every way a job is made refuses it:
nothing stored, nothing sent, nothing typed lost. The pages that list keys name the
environment's key: the simulator's demo key in the demo, else the server's.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from playground.billing import paying
from playground.billing.models import ApiKey
from playground.generations.models import Generation, State
from playground.matrix.models import MatrixRun
from playground.studio.management.commands.playground import Command as PlaygroundCommand
from playground.studio.management.commands.playground import _who_pays
from playground.teams.models import Team
from tests.factories import make_generation, stored_key
from tests.queue import queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_fallback(settings: Any) -> None:
    """A server without EVOLINK_API_KEY: only stored keys can pay."""
    settings.EVOLINK_API_KEY = ""
    settings.EVOLINK_BASE_URL = "https://api.evolink.ai"


def generate_button(page: str) -> str:
    found = re.search(r'<button type="submit" class="primary"[^>]*>', page)
    assert found, "no Generate button"
    return found.group(0)


def post_form(client: Client, *, htmx: bool = False, **data: str) -> Any:
    body = {
        "model": "gpt-image-2",
        "prompt": "a lighthouse nobody can pay for",
        "size": "auto",
        "resolution": "1K",
        "quality": "low",
        "n": "1",
        "client_token": str(uuid.uuid4()),
        **data,
    }
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post("/t/a/", body, **headers)


# --- Which key could pay -------------------------------------------------------------


def test_no_key_at_all_is_a_gap_and_the_environments_key_closes_it(
    team_a: Team, settings: Any, no_fallback: None
) -> None:
    gap = paying.gap(team_a, "gpt-image-2")
    assert gap is not None and gap.reason == paying.NO_KEY
    settings.EVOLINK_API_KEY = "sk-evo-from-the-environment"
    assert paying.gap(team_a, "gpt-image-2") is None


def test_the_teams_key_or_a_shared_key_pays_another_teams_key_does_not(
    team_a: Team, team_b: Team, no_fallback: None
) -> None:
    stored_key(team=team_b)
    assert paying.gap(team_a, "gpt-image-2").reason == paying.NO_KEY  # type: ignore[union-attr]
    shared = stored_key(team=None, label="Shared")
    assert paying.gap(team_a, "gpt-image-2") is None
    shared.delete()
    stored_key(team=team_a)
    assert paying.gap(team_a, "gpt-image-2") is None


def test_keys_switched_off_resting_or_refused_the_model_are_each_said(
    team_a: Team, no_fallback: None
) -> None:
    key = stored_key(team=team_a, enabled=False)
    assert paying.gap(team_a, "gpt-image-2").reason == paying.ALL_OFF  # type: ignore[union-attr]

    until = timezone.now() + timedelta(hours=3)
    ApiKey.objects.filter(pk=key.pk).update(enabled=True, paused_until=until)
    gap = paying.gap(team_a, "gpt-image-2")
    assert gap is not None and gap.reason == paying.RESTING and gap.until == until
    assert timezone.localtime(until).strftime("%H:%M") in gap.detail

    ApiKey.objects.filter(pk=key.pk).update(paused_until=None, denied_models=["gpt-image-2"])
    gap = paying.gap(team_a, "gpt-image-2")
    assert gap is not None and gap.reason == paying.MODEL_REFUSED
    assert "GPT Image 2" in gap.detail
    # Refused one model only: the key still pays for the others.
    assert paying.gap(team_a, "gpt-image-1.5") is None


# --- The studio: Generate disabled, and refused on the server --------------------------


def test_a_member_sees_generate_disabled_and_whom_to_ask(
    alice_client: Client, no_fallback: None
) -> None:
    page = alice_client.get("/t/a/").content.decode()
    assert "disabled" in generate_button(page)
    assert 'aria-describedby="payer-gap"' in generate_button(page)
    assert "No key can pay for this team: ask an admin." in page
    assert "/t/a/keys/" not in page  # the keys page is not theirs


def test_an_admin_is_told_to_add_a_key_with_a_link_to_the_keys_page(
    ada_client: Client, no_fallback: None
) -> None:
    page = ada_client.get("/t/a/").content.decode()
    assert "disabled" in generate_button(page)
    assert "No key can pay for this team." in page
    assert "ask an admin" not in page
    assert re.search(r'<a href="/t/a/keys/" data-testid="add-key">Add a key</a>', page)
    # The header banner does not say it again (nor tell the admin to ask an admin).
    assert "until an administrator adds one" not in page


def test_a_team_with_a_usable_key_has_generate_enabled(
    alice_client: Client, team_a: Team, no_fallback: None
) -> None:
    stored_key(team=team_a)
    page = alice_client.get("/t/a/").content.decode()
    assert "disabled" not in generate_button(page)
    assert "No key can pay" not in page


def test_the_check_follows_the_model_chosen(
    alice_client: Client, team_a: Team, no_fallback: None
) -> None:
    stored_key(team=team_a, denied_models=["gpt-image-2"])
    refused = alice_client.get("/t/a/?model=gpt-image-2").content.decode()
    assert "disabled" in generate_button(refused)
    assert "EvoLink refused GPT Image 2 to every key of this team." in refused
    offered = alice_client.get("/t/a/?model=gpt-image-1.5").content.decode()
    assert "disabled" not in generate_button(offered)


@pytest.mark.parametrize("htmx", [False, True])
def test_the_server_refuses_the_job_stores_and_sends_nothing_and_keeps_the_form(
    alice_client: Client, no_fallback: None, django_capture_on_commit_callbacks: Any, htmx: bool
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as woken:
        response = post_form(alice_client, htmx=htmx, quality="high", n="3")
    assert response.status_code == 200
    page = response.content.decode()
    assert "No key can pay for this team: ask an admin." in page and "Nothing was sent." in page
    assert Generation.objects.count() == 0
    assert woken == [] and queued_tasks() == []
    # What the person typed and chose is still there.
    assert "a lighthouse nobody can pay for</textarea>" in page
    assert re.search(r'<option value="high" selected>', page)
    assert re.search(r'name="n" value="3"', page)


def test_an_admins_refusal_says_to_add_a_key(ada_client: Client, no_fallback: None) -> None:
    page = post_form(ada_client).content.decode()
    assert "Add a key on the Keys page. Nothing was sent." in page
    assert Generation.objects.count() == 0


def test_a_rerun_is_refused_too(alice: User, alice_client: Client, no_fallback: None) -> None:
    job = make_generation(alice, state=State.COMPLETED)
    asked = alice_client.get(f"/generations/{job.public_id}/resubmit/").content.decode()
    assert "No key can pay for this team: ask an admin." in asked
    assert re.search(r'<button type="submit" class="primary" disabled', asked)
    response = alice_client.post(f"/generations/{job.public_id}/resubmit/", follow=True)
    assert "No key can pay for this team: ask an admin." in response.content.decode()
    assert Generation.objects.count() == 1


def test_the_matrix_page_says_no_key_can_pay_as_it_opens(
    alice_client: Client, no_fallback: None
) -> None:
    page = alice_client.get("/t/a/matrix/").content.decode()
    assert "No key can pay for this team: ask an admin." in page
    assert "Nothing was sent." not in page  # nothing was asked for yet


@pytest.mark.parametrize("action", ["preview", "generate"])
def test_a_matrix_run_is_refused_whole_and_said_at_the_preview(
    alice_client: Client, no_fallback: None, action: str
) -> None:
    response = alice_client.post(
        "/t/a/matrix/",
        {
            "mode": "matrix",
            "prompt": "a fox",
            "models": ["gpt-image-2"],
            "qualities": ["low", "medium"],
            "sizes": ["1:1"],
            "resolution": "1K",
            "n": "1",
            "client_token": str(uuid.uuid4()),
            "action": action,
        },
    )
    assert response.status_code == 200
    assert response.content.decode().count("No key can pay for this team: ask an admin.") == 1
    assert Generation.objects.count() == 0 and MatrixRun.objects.count() == 0


# --- Naming the environment's key ---------------------------------------------------


def test_the_keys_page_names_the_simulators_demo_key_when_it_pays(
    ada_client: Client, settings: Any
) -> None:
    settings.EVOLINK_BASE_URL = "http://127.0.0.1:8765"
    settings.EVOLINK_API_KEY = "sk-evo-simulator-demo"
    page = ada_client.get("/t/a/keys/").content.decode()
    assert "This team has no key of its own yet." not in page
    assert (
        "Jobs of this team are paid with the simulator&#x27;s demo key (EVOLINK_API_KEY), "
        "set on the server. The simulator bills nothing." in page
    )
    # Said once: with no other key listed, no separate "Fallback key" entry.
    assert 'data-testid="fallback-key"' not in page
    stored_key(team=None, label="Shared")
    page = ada_client.get("/t/a/keys/").content.decode()
    assert "Its jobs are paid with the shared keys below." in page
    assert "The simulator&#x27;s demo key (EVOLINK_API_KEY): set in the server" in page


def test_the_keys_page_names_the_servers_key_after_the_teams_own(
    ada_client: Client, team_a: Team, settings: Any
) -> None:
    settings.EVOLINK_BASE_URL = "https://api.evolink.ai"
    settings.EVOLINK_API_KEY = "sk-evo-production-key"
    stored_key(team=team_a)
    page = ada_client.get("/t/a/keys/").content.decode()
    assert 'data-testid="no-own-key"' not in page
    assert "The server&#x27;s EVOLINK_API_KEY: set in the server's environment" in page


def test_the_keys_page_of_a_team_nothing_can_pay_for_says_so(
    ada_client: Client, no_fallback: None
) -> None:
    page = ada_client.get("/t/a/keys/").content.decode()
    assert "No key can pay for this team: nobody in it can generate until you add a key" in page
    assert 'data-testid="fallback-key"' not in page


def test_the_usage_page_names_the_key_that_paid_and_the_jobs_never_sent(
    ada: User, ada_client: Client, team_a: Team, settings: Any
) -> None:
    settings.EVOLINK_BASE_URL = "https://api.evolink.ai"
    key = stored_key(team=team_a, label="Studio key")
    now = timezone.now()
    make_generation(ada, state=State.COMPLETED, submitted_at=now, api_key=key)
    make_generation(ada, state=State.COMPLETED, submitted_at=now)  # EVOLINK_API_KEY paid
    make_generation(ada, state=State.FAILED)  # refused before anything was sent
    page = ada_client.get("/t/a/usage/").content.decode()
    per_key = page.split('data-testid="per-key"')[1].split("</table>")[0]
    assert "not sent, or EVOLINK_API_KEY" not in page
    assert "Studio key" in per_key
    assert "The server&#x27;s EVOLINK_API_KEY" in per_key
    assert "none: not sent, or no answer from EvoLink" in per_key
    assert per_key.count("<tr>") == 4  # the head and one row each
    csv = b"".join(ada_client.get("/t/a/usage.csv").streaming_content).decode()
    keys = sorted(line.split(",")[13] for line in csv.splitlines()[1:])
    assert keys == ["", "EVOLINK_API_KEY", "Studio key (sk-evo-…abcd)"]


def test_a_jobs_page_names_the_environments_key_that_paid(
    ada: User, ada_client: Client, settings: Any
) -> None:
    settings.EVOLINK_BASE_URL = "http://127.0.0.1:8765"
    job = make_generation(ada, state=State.COMPLETED, submitted_at=timezone.now())
    page = ada_client.get(f"/generations/{job.public_id}/").content.decode()
    assert "The simulator&#x27;s demo key (EVOLINK_API_KEY)" in page


# --- The start banner ----------------------------------------------------------------


def banner(simulated: bool) -> str:
    out = io.StringIO()
    PlaygroundCommand(stdout=out)._banner(
        {"host": "127.0.0.1", "port": 8000, "simulator_port": 8765}, simulated
    )
    return out.getvalue()


def test_the_start_banner_mentions_only_a_simulator_it_started(settings: Any) -> None:
    settings.EVOLINK_BASE_URL = "https://api.evolink.ai"
    real = banner(simulated=False)
    assert "simulator" not in real.lower()
    assert "Upstream:   https://api.evolink.ai" in real
    assert "Ctrl-C stops the web server and the worker cluster." in real
    simulated = banner(simulated=True)
    assert "the offline EvoLink simulator on port 8765" in simulated
    assert "Ctrl-C stops the web server, the worker cluster and the simulator." in simulated


def test_the_start_banner_says_what_pays_and_where_to_add_a_key(
    team_a: Team, no_fallback: None
) -> None:
    options = {"host": "127.0.0.1", "port": 8000}
    assert "nothing is billed" in _who_pays(team_a, True, options)
    nothing = _who_pays(team_a, False, options)
    assert nothing == "no key yet: log in as demo and add one at http://127.0.0.1:8000/t/a/keys/"
    stored_key(team=team_a)
    assert _who_pays(team_a, False, options).startswith("the team's keys")
