"""Which models a team may use is data its admins control, and a model EvoLink withdrew
fails clearly, once, and uncharged. Jobs run against the simulator over real HTTP."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from playground.billing.models import ApiKey
from playground.evolink.simulator import Simulator
from playground.generations import jobs, spend
from playground.generations.models import Generation, State
from playground.matrix.models import PromptTemplate
from playground.teams.models import ModelNotice, Role, Team
from tests.conftest import logged_in, member
from tests.factories import make_generation, stored_key
from tests.fixtures_keys import FIRST, SECOND
from tests.test_matrix import MATRIX, template_form
from tests.test_matrix import form as matrix_form

pytestmark = pytest.mark.django_db

STUDIO = "/t/a/"
SWITCH = "/t/a/keys/models/"
GONE = "EvoLink does not offer GPT Image 1 any more; ask an admin to switch it off."


def offered_in_studio(client: Client, team: str = "a") -> set[str]:
    page = client.get(f"/t/{team}/").content.decode()
    picker = page.split('class="model-picker"', 1)[1].split("</nav>", 1)[0]
    return set(re.findall(r'data-model="([^"]+)"', picker))


def offered_in_matrix(client: Client, query: dict[str, object] | None = None) -> set[str]:
    page = client.get(MATRIX, query or {}).content.decode()
    return set(re.findall(r'name="models" value="([^"]+)"', page))


def studio_post(model: str) -> dict[str, str]:
    return {
        "model": model,
        "prompt": "a lighthouse",
        "size": "1024x1024",
        "quality": "low",
        "n": "1",
        "client_token": str(uuid.uuid4()),
    }


@pytest.fixture
def root(team_a: Team) -> User:
    user = User.objects.create_superuser("root", "root@example.com", "x")
    from playground.teams.models import Membership

    Membership.objects.create(user=user, team=team_a, role=Role.ADMIN)
    return user


# --- Switched off: gone from every form -----------------------------------------------


def test_a_model_a_team_admin_switches_off_disappears_from_every_form(
    ada_client: Client, alice_client: Client, alice: User, charlie_client: Client
) -> None:
    old = make_generation(alice, model="gpt-image-1.5", size="1:1", state=State.COMPLETED)
    assert "gpt-image-1.5" in offered_in_studio(alice_client)

    response = ada_client.post(SWITCH, {"model": "gpt-image-1.5", "scope": "team", "on": "0"})
    assert response.status_code == 302

    # The studio's picker, a direct link to its form, the matrix and a saved template.
    assert offered_in_studio(alice_client) == {"gpt-image-1", "gpt-image-2"}
    page = alice_client.get(STUDIO, {"model": "gpt-image-1.5"}).content.decode()
    assert 'name="model" value="gpt-image-2"' in page
    assert offered_in_matrix(alice_client) == {"gpt-image-1", "gpt-image-2"}
    saved = PromptTemplate.objects.create(
        team=old.team, name="fox", text="a {animal}", values={"animal": ["fox"]}
    )
    assert "gpt-image-1.5" not in offered_in_matrix(alice_client, {"template": saved.pk})
    # A form posted from a page opened before the switch makes nothing, and says why.
    before = Generation.objects.count()
    response = alice_client.post(STUDIO, studio_post("gpt-image-1.5"))
    assert "GPT Image 1.5 is switched off for this team" in response.content.decode()
    response = alice_client.post(
        MATRIX, {**matrix_form(models=["gpt-image-1.5"]), "action": "generate"}
    )
    assert "gpt-image-1.5 is switched off for this team" in response.content.decode()
    response = alice_client.post(
        MATRIX, {**template_form(models=["gpt-image-1.5"]), "action": "generate"}
    )
    assert response.status_code == 200
    assert Generation.objects.count() == before
    # Its old jobs stay readable; another team still has the model.
    assert alice_client.get(f"/generations/{old.public_id}/").status_code == 200
    assert "gpt-image-1.5" in offered_in_studio(charlie_client, "b")

    ada_client.post(SWITCH, {"model": "gpt-image-1.5", "scope": "team", "on": "1"})
    assert "gpt-image-1.5" in offered_in_studio(alice_client)


def test_only_admins_switch_models_and_only_superusers_for_every_team(
    alice_client: Client, ada_client: Client, root: User, charlie_client: Client
) -> None:
    assert alice_client.post(SWITCH, {"model": "gpt-image-2", "on": "0"}).status_code == 403
    site_off = {"model": "gpt-image-2", "scope": "site", "on": "0"}
    assert ada_client.post(SWITCH, site_off).status_code == 403
    assert charlie_client.post(SWITCH, site_off).status_code == 404

    root_client = logged_in(root)
    page = root_client.get("/t/a/keys/").content.decode()
    assert "Every team (superusers)" in page
    assert root_client.post(SWITCH, site_off).status_code == 302
    assert "gpt-image-2" not in offered_in_studio(charlie_client, "b")
    assert "gpt-image-2" not in offered_in_studio(alice_client)
    # ... and a team admin cannot switch it back on for their team alone.
    assert "off for every team" in ada_client.get("/t/a/keys/").content.decode()


def test_gpt_image_1_is_withdrawn_so_not_offered_until_a_superuser_offers_it(
    settings, alice_client: Client, root: User
) -> None:  # type: ignore[no-untyped-def]
    settings.PLAYGROUND_OFFER_WITHDRAWN_MODELS = False
    assert offered_in_studio(alice_client) == {"gpt-image-1.5", "gpt-image-2"}
    assert "gpt-image-1" not in offered_in_matrix(alice_client)
    assert (
        "EvoLink took it offline on 2026-05-29"
        in logged_in(root).get("/t/a/keys/").content.decode()
    )

    logged_in(root).post(SWITCH, {"model": "gpt-image-1", "scope": "site", "on": "1"})
    assert "gpt-image-1" in offered_in_studio(alice_client)


def test_a_job_queued_before_its_model_was_switched_off_is_not_sent(
    alice: User, ada_client: Client, fast_jobs: Simulator
) -> None:
    job = make_generation(alice, model="gpt-image-1.5", size="1:1", state=State.QUEUED)
    ada_client.post(SWITCH, {"model": "gpt-image-1.5", "scope": "team", "on": "0"})
    assert jobs.submit(job.pk) == "failed"
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.FAILED, "model_off")
    assert "nothing was charged" in job.error_message
    assert fast_jobs.request_count("POST /v1/images/generations") == 0


# --- Withdrawn upstream: fails once, clearly, not charged -------------------------------


def test_a_withdrawn_model_fails_clearly_not_charged_and_admins_are_told_once(
    alice: User, ada: User, ada_client: Client, fast_jobs: Simulator
) -> None:
    fast_jobs.take_offline("gpt-image-1")  # as EvoLink since 2026-05-29
    first = make_generation(alice, model="gpt-image-1", size="1024x1024", state=State.QUEUED)
    second = make_generation(alice, model="gpt-image-1", size="1024x1024", state=State.QUEUED)

    assert jobs.submit(first.pk) == "failed"
    assert jobs.submit(second.pk) == "failed"
    assert jobs.submit(first.pk) == "not claimed"  # failed once: never sent again

    for job in (first, second):
        job.refresh_from_db()
        assert (job.state, job.error_code) == (State.FAILED, "model_not_found")
        assert job.error_message.startswith(GONE)
        assert spend.charge_of(job).kind == "not_charged"
        page = ada_client.get(f"/generations/{job.public_id}/").content.decode()
        assert GONE in page and "not charged" in page.lower()
        assert "uncertain" not in page.lower() and "may be charged" not in page
        assert job.upstream_request_ids[0]["status"] == 400
    assert fast_jobs.request_count("POST /v1/images/generations") == 2
    assert fast_jobs.tasks_created == 0
    # The team's admins are told once, by e-mail and in their studio.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [ada.email]
    assert "GPT Image 1" in mail.outbox[0].subject
    assert ModelNotice.objects.count() == 1
    studio = ada_client.get(STUDIO).content.decode()
    assert "EvoLink refused GPT Image 1 as no longer offered" in studio

    # Once an admin switches it off, the warning goes and nobody can start one.
    ada_client.post(SWITCH, {"model": "gpt-image-1", "scope": "team", "on": "0"})
    assert "no longer offered" not in ada_client.get(STUDIO).content.decode()


def test_a_403_for_one_key_is_recorded_on_it_and_the_next_key_pays(
    alice: User, ada_client: Client, two_keys: tuple[ApiKey, ApiKey], fast_jobs: Simulator
) -> None:
    first, second = two_keys
    fast_jobs.deny_model(FIRST, "gpt-image-1.5")
    job = make_generation(alice, model="gpt-image-1.5", size="1:1", state=State.QUEUED)

    assert jobs.submit(job.pk) == "submitted"
    job.refresh_from_db()
    first.refresh_from_db()
    assert job.api_key == second and job.state == State.RUNNING
    assert first.enabled and first.denied_models == ["gpt-image-1.5"]
    assert fast_jobs.tasks_created == 1  # the refused POST created nothing
    assert [(r["call"], r["status"]) for r in job.upstream_request_ids] == [
        ("create", 403),
        ("create", 200),
    ]
    page = ada_client.get("/t/a/keys/").content.decode()
    assert "EvoLink does not let this key use GPT Image 1.5" in page

    # The next job of that model goes straight to the second key; other models still
    # use the first.
    fast_jobs.reset()
    later = make_generation(alice, model="gpt-image-1.5", size="1:1", state=State.QUEUED)
    other = make_generation(alice, model="gpt-image-2", state=State.QUEUED)
    assert jobs.submit(later.pk) == jobs.submit(other.pk) == "submitted"
    assert Generation.objects.get(pk=later.pk).api_key == second
    assert Generation.objects.get(pk=other.pk).api_key == first
    assert fast_jobs.request_count("POST /v1/images/generations") == 2


def test_a_403_for_every_key_fails_the_job_as_the_model_being_unavailable(
    settings, alice: User, team_a: Team, fast_jobs: Simulator
) -> None:  # type: ignore[no-untyped-def]
    settings.EVOLINK_API_KEY = ""
    member("ada", team_a, Role.ADMIN)
    for n, secret in enumerate((FIRST, SECOND)):
        stored_key(f"Key {n}", secret, team_a, priority=n)
        fast_jobs.deny_model(secret, "gpt-image-1")
    job = make_generation(alice, model="gpt-image-1", size="1024x1024", state=State.QUEUED)

    assert jobs.submit(job.pk) == "failed"
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.FAILED, "model_not_found")
    assert job.error_message.startswith(GONE)
    assert spend.charge_of(job).kind == "not_charged"
    assert len(mail.outbox) == 1

    # Every key is now known to be refused this model: the next job sends nothing.
    later = make_generation(alice, model="gpt-image-1", size="1024x1024", state=State.QUEUED)
    assert jobs.submit(later.pk) == "failed"
    assert Generation.objects.get(pk=later.pk).error_code == "model_not_found"
    assert fast_jobs.request_count("POST /v1/images/generations") == 2
    assert len(mail.outbox) == 1  # told once
