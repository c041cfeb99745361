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
def app(simulator: Simulator, settings: Any, live_server: Any) -> str:
    """The app on loopback, the simulator behind it; its API's base URL. Enough for
    every refusal: nothing is sent then."""
    settings.EVOLINK_BASE_URL, settings.EVOLINK_API_KEY = simulator.base_url, simulator.api_key
    settings.PUBLIC_BASE_URL = live_server.url
    # A cluster just started on a busy machine may take a while to send the first job.
    settings.API_WAIT_SECONDS = 90
    simulator.task_seconds = 0.5
    return f"{live_server.url}/v1"


@pytest.fixture
def server(app: str, simulator: Simulator, live_server: Any) -> Iterator[str]:
    """The same with a worker cluster, which sends the jobs and archives their images."""
    process = start_cluster(simulator, PUBLIC_BASE_URL=live_server.url)
    yield app
    kill(process)


def token_of(user: User, **extra: Any) -> tuple[ApiToken, str]:
    return ApiToken.issue(Membership.objects.get(user=user), name="batch renamer", **extra)


def client_for(base_url: str, value: str) -> openai.OpenAI:
    # No retries: each test sees the first answer, as a script's author would.
    return openai.OpenAI(api_key=value, base_url=base_url, max_retries=0, timeout=120)


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


def test_a_refused_field_is_named_with_the_studios_message(app: str, alice: User) -> None:
    _token, value = token_of(alice)
    with pytest.raises(openai.BadRequestError) as refused:
        client_for(app, value).images.generate(
            model="gpt-image-2", prompt="a cat", size="1000x1000", quality="low"
        )
    error = refused.value
    assert error.status_code == 400
    assert error.param == "size"
    assert "multiple of 16" in error.message
    assert not Generation.objects.exists()


def test_a_budget_refusal_stores_nothing(app: str, alice: User, team_a: Team) -> None:
    Team.objects.filter(pk=team_a.pk).update(monthly_budget_credits=0)
    _token, value = token_of(alice)
    with pytest.raises(openai.APIStatusError) as refused:
        client_for(app, value).images.generate(model="gpt-image-2", prompt="a cat", quality="low")
    assert refused.value.status_code == 402
    assert refused.value.code == "budget_exceeded"
    assert "budget" in refused.value.message
    assert not Generation.objects.exists()


def test_a_viewers_token_reads_but_never_generates(app: str, vera: User) -> None:
    _token, value = token_of(vera)
    client = client_for(app, value)
    assert "gpt-image-2" in {model.id for model in client.models.list()}
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.images.generate(model="gpt-image-2", prompt="a cat")
    assert refused.value.code == "viewer_cannot_generate"
    assert not Generation.objects.exists()


def test_revoked_and_expired_tokens_are_refused(app: str, alice: User) -> None:
    revoked, revoked_value = token_of(alice)
    revoked.revoke(by=alice)
    expired, expired_value = token_of(alice, days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    for value, code in ((revoked_value, "revoked_api_key"), (expired_value, "expired_api_key")):
        with pytest.raises(openai.AuthenticationError) as refused:
            client_for(app, value).images.generate(model="gpt-image-2", prompt="a cat")
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
    wait_for(lambda: Generation.objects.filter(state=State.COMPLETED).exists(), timeout=90)
    followed = httpx.get(job["url"], headers={"Authorization": f"Bearer {value}"}).json()
    assert followed["status"] == "completed"
    assert followed["api_token"] == "batch renamer"
    assert len(followed["data"]) == 1 and followed["data"][0]["url"]


def png(size: tuple[int, int], mode: str = "RGB", colour: Any = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def half_mask(size: tuple[int, int]) -> bytes:
    """Opaque (kept) on the left half, transparent (to change) on the right."""
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    image.paste((0, 0, 0, 0), (size[0] // 2, 0, size[0], size[1]))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_an_edit_with_a_mask(server: str, alice: User) -> None:
    _token, value = token_of(alice)
    result = client_for(server, value).images.edit(
        model="gpt-image-2",
        image=[("photo.png", png((256, 256)), "image/png")],
        mask=("mask.png", half_mask((256, 256)), "image/png"),
        prompt="a lighthouse on the right",
        size="1024x1024",
        quality="low",
        response_format="url",
    )
    assert result.data is not None and result.data[0].url
    job = Generation.objects.get()
    assert job.state == State.COMPLETED and job.api_token is not None
    link = job.references.select_related("reference", "mask").get()
    assert link.mask is not None
    assert (link.mask.width, link.mask.height) == (256, 256)
    assert (link.reference.width, link.reference.height) == (256, 256)


def test_an_edit_refuses_a_mask_of_another_size(app: str, alice: User) -> None:
    _token, value = token_of(alice)
    with pytest.raises(openai.BadRequestError) as refused:
        client_for(app, value).images.edit(
            model="gpt-image-2",
            image=("photo.png", png((256, 256)), "image/png"),
            mask=("mask.png", half_mask((128, 128)), "image/png"),
            prompt="a lighthouse",
            quality="low",
        )
    assert refused.value.param == "mask"
    assert "exactly the reference's size" in refused.value.message
    assert not Generation.objects.exists()
