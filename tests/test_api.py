"""The images API with OpenAI's own Python client against the running app: a real server
on loopback (pytest-django's live server), a worker cluster and the EvoLink simulator
behind it. Generations answered with signed links and in base64; a refusal with the
form's `param`; a budget refusal; a viewer's, a revoked and an expired token refused;
a job made through the API in a colleague's history, "via API · <token name>".
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import openai
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from PIL import Image

from playground.apitokens.models import ApiToken
from playground.evolink.simulator import Simulator
from playground.generations.models import Generation, State
from playground.teams.models import Membership, Team
from tests.conftest import logged_in
from tests.processes import kill, start_cluster
from tests.queue import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(simulator: Simulator, settings: Any, live_server: Any) -> Iterator[str]:
    """The app on loopback with a worker cluster and the simulator; its API's base URL."""
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    settings.PUBLIC_BASE_URL = live_server.url
    simulator.task_seconds = 0.5
    process = start_cluster(simulator, PUBLIC_BASE_URL=live_server.url)
    yield f"{live_server.url}/v1"
    kill(process)


def token_of(user: User, **extra: Any) -> tuple[ApiToken, str]:
    return ApiToken.issue(Membership.objects.get(user=user), name="batch renamer", **extra)


def client_for(base_url: str, value: str) -> openai.OpenAI:
    # No retries: each test sees the first answer, as a script's author would.
    return openai.OpenAI(api_key=value, base_url=base_url, max_retries=0, timeout=60)


def test_generations_answer_signed_links_to_the_archived_images(
    server: str, alice: User, bob: User
) -> None:
    token, value = token_of(alice)
    result = client_for(server, value).images.generate(
        model="gpt-image-2",
        prompt="a red fox in the snow",
        size="1024x1024",
        quality="low",
        response_format="url",
    )
    assert result.data is not None and len(result.data) == 1
    link = result.data[0].url
    assert link is not None and "/v1/images/files/" in link
    downloaded = httpx.get(link)  # no token: the signed link is the key
    assert downloaded.status_code == 200
    assert Image.open(io.BytesIO(downloaded.content)).size == (1024, 1024)
    job = Generation.objects.get()
    assert (job.state, job.owner, job.api_token, job.size) == (
        State.COMPLETED,
        alice,
        token,
        "1024x1024",
    )
    extra = result.model_extra or {}
    assert extra["id"] == str(job.public_id)
    usage = result.model_dump()["usage"]
    assert usage["estimated_credits"] == float(job.estimated_credits)
    assert usage["charge"] == "charged" and usage["charged_credits"] is not None
    # A colleague's history shows it, and how it was made.
    history = logged_in(bob).get("/t/a/history/").content.decode()
    assert 'via API · <span translate="no">batch renamer</span>' in history
    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert httpx.get(tampered).status_code == 404


def test_generations_answer_base64_by_default(server: str, alice: User) -> None:
    _token, value = token_of(alice)
    result = client_for(server, value).images.generate(
        model="gpt-image-2", prompt="a blue whale", size="1536x1024", quality="low"
    )
    assert result.data is not None
    encoded = result.data[0].b64_json
    assert encoded is not None and result.data[0].url is None
    assert Image.open(io.BytesIO(base64.b64decode(encoded))).size == (1536, 1024)


def test_a_refused_field_is_named_with_the_studios_message(server: str, alice: User) -> None:
    _token, value = token_of(alice)
    with pytest.raises(openai.BadRequestError) as refused:
        client_for(server, value).images.generate(
            model="gpt-image-2", prompt="a cat", size="1000x1000", quality="low"
        )
    error = refused.value
    assert error.status_code == 400
    assert error.param == "size"
    assert "multiple of 16" in error.message
    assert not Generation.objects.exists()


def test_a_budget_refusal_stores_nothing(server: str, alice: User, team_a: Team) -> None:
    Team.objects.filter(pk=team_a.pk).update(monthly_budget_credits=0)
    _token, value = token_of(alice)
    with pytest.raises(openai.APIStatusError) as refused:
        client_for(server, value).images.generate(
            model="gpt-image-2", prompt="a cat", quality="low"
        )
    assert refused.value.status_code == 402
    assert refused.value.code == "budget_exceeded"
    assert "budget" in refused.value.message
    assert not Generation.objects.exists()


def test_a_viewers_token_reads_but_never_generates(server: str, vera: User) -> None:
    _token, value = token_of(vera)
    client = client_for(server, value)
    assert "gpt-image-2" in {model.id for model in client.models.list()}
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.images.generate(model="gpt-image-2", prompt="a cat")
    assert refused.value.code == "viewer_cannot_generate"
    assert not Generation.objects.exists()


def test_revoked_and_expired_tokens_are_refused(server: str, alice: User) -> None:
    revoked, revoked_value = token_of(alice)
    revoked.revoke(by=alice)
    expired, expired_value = token_of(alice, days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    for value, code in ((revoked_value, "revoked_api_key"), (expired_value, "expired_api_key")):
        with pytest.raises(openai.AuthenticationError) as refused:
            client_for(server, value).images.generate(model="gpt-image-2", prompt="a cat")
        assert refused.value.code == code
        assert value not in refused.value.message
    assert not Generation.objects.exists()


def test_past_the_wait_the_answer_is_202_and_the_job_is_followed(server: str, alice: User) -> None:
    _token, value = token_of(alice)
    answer = httpx.post(
        f"{server}/images/generations?wait=0",
        headers={"Authorization": f"Bearer {value}"},
        json={"model": "gpt-image-2", "prompt": "a slow snail", "quality": "low"},
    )
    assert answer.status_code == 202
    job = answer.json()
    assert answer.headers["Location"] == job["url"]
    assert job["status"] in ("queued", "submitting", "running", "archiving")
    wait_for(lambda: Generation.objects.filter(state=State.COMPLETED).exists(), timeout=30)
    followed = httpx.get(job["url"], headers={"Authorization": f"Bearer {value}"}).json()
    assert followed["status"] == "completed"
    assert followed["api_token"] == "batch renamer"
    assert len(followed["data"]) == 1 and followed["data"][0]["url"]
