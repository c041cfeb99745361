"""The images API's reads and refusals through Django's test client (no server, no
cluster): jobs and their scopes, models, the OpenAPI description, signed image links,
the mapping of OpenAI's body onto the studio's forms, and how a finished job answers.
The end-to-end runs with OpenAI's client are in test_api.py."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core import signing
from django.test import Client

from playground.api import results
from playground.apitokens.models import ApiToken
from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from playground.teams import availability
from playground.teams.models import Membership, Team
from tests.factories import make_generation, png_bytes

pytestmark = pytest.mark.django_db


def token_of(user: User, **extra: Any) -> tuple[ApiToken, str]:
    return ApiToken.issue(Membership.objects.get(user=user), name="script", **extra)


def api(value: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {value}"})


def post(client: Client, body: Any, path: str = "/v1/images/generations?wait=0") -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def test_jobs_lists_what_the_member_may_see(alice: User, bob: User, charlie: User) -> None:
    token, value = token_of(alice)
    shared = make_generation(bob, prompt="bob's shared")
    make_generation(bob, prompt="bob's own", private=True)
    mine = make_generation(alice, prompt="alice's", api_token=token)
    make_generation(charlie, prompt="another team's")
    client = api(value)
    listed = client.get("/v1/jobs").json()
    assert [job["prompt"] for job in listed["data"]] == ["alice's", "bob's shared"]
    assert listed["has_more"] is False
    assert [j["id"] for j in client.get("/v1/jobs?scope=token").json()["data"]] == [
        str(mine.public_id)
    ]
    page = client.get("/v1/jobs?limit=1").json()
    assert page["has_more"] and page["last_id"] == str(mine.public_id)
    after = client.get(f"/v1/jobs?limit=1&after={page['last_id']}").json()
    assert [job["id"] for job in after["data"]] == [str(shared.public_id)]
    refused = client.get("/v1/jobs?limit=500")
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "limit"


def test_a_job_is_404_outside_what_the_member_may_see(alice: User, bob: User) -> None:
    _token, value = token_of(alice)
    hidden = make_generation(bob, private=True)
    answer = api(value).get(f"/v1/jobs/{hidden.public_id}")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "job_not_found"


def test_a_finished_job_has_signed_links_that_expire(alice: User, settings: Any) -> None:
    _token, value = token_of(alice)
    job = make_generation(alice, state=State.COMPLETED)
    save_result(job, 0, png_bytes(16, 16))
    answer = api(value).get(f"/v1/jobs/{job.public_id}").json()
    link = answer["data"][0]["url"]
    path = link.removeprefix("http://testserver")
    image = Client().get(path)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    settings.API_IMAGE_URL_SECONDS = 60
    later = mock.patch("time.time", return_value=time.time() + 61)
    with later:
        assert Client().get(path).status_code == 404
    b64 = api(value).get(f"/v1/jobs/{job.public_id}?response_format=b64_json").json()
    assert b64["data"][0]["b64_json"]


def test_models_are_the_teams(alice: User, team_a: Team, ada: User) -> None:
    _token, value = token_of(alice)
    availability.switch_for_team(team_a, "gpt-image-1.5", on=False, by=ada)
    ids = [model["id"] for model in api(value).get("/v1/models").json()["data"]]
    assert "gpt-image-2" in ids and "gpt-image-1.5" not in ids
    refused = post(api(value), {"model": "gpt-image-1.5", "prompt": "a cat"})
    assert refused.status_code == 404
    assert refused.json()["error"] == {
        "message": refused.json()["error"]["message"],
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    assert "switched off" in refused.json()["error"]["message"]


def test_the_openapi_description_is_public_and_names_every_path(alice: User) -> None:
    described = Client().get("/v1/openapi.json").json()
    assert described["openapi"].startswith("3.1")
    assert set(described["paths"]) == {
        "/images/generations",
        "/images/edits",
        "/jobs",
        "/jobs/{id}",
        "/models",
    }


def test_a_session_opens_nothing(alice_client: Client) -> None:
    answer = alice_client.get("/v1/models")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "missing_api_key"
    assert answer["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_method_is_405_in_openais_shape(alice: User) -> None:
    _token, value = token_of(alice)
    answer = api(value).get("/v1/images/generations")
    assert answer.status_code == 405 and answer["Allow"] == "POST"
    assert answer.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"prompt": "a cat", "colour": "red"}, "colour", "Unknown parameter"),
        ({"prompt": "a cat", "model": "dall-e-3"}, "model", "does not exist"),
        ({"prompt": ""}, "prompt", "prompt"),
        ({"prompt": "a cat", "n": 11}, "n", "from 1 to 10"),
        ({"prompt": "a cat", "n": "two"}, "n", "whole number"),
        ({"prompt": "a cat", "quality": "hd"}, "quality", "valid choice"),
        ({"prompt": "a cat", "response_format": "png"}, "response_format", "url or b64_json"),
        (
            {"prompt": "a cat", "background": "transparent", "output_format": "jpeg"},
            "output_format",
            "JPEG",
        ),
        (
            {"prompt": "a cat", "model": "gpt-image-1.5", "background": "transparent"},
            "background",
            "takes no background",
        ),
        ({"prompt": "a cat", "size": "1000x1000"}, "size", "multiple of 16"),
        ({"prompt": ["a", "cat"]}, "prompt", "must be a string"),
    ],
)
def test_a_refusal_names_the_parameter(
    alice: User, body: dict[str, Any], param: str, words: str
) -> None:
    _token, value = token_of(alice)
    answer = post(api(value), body)
    error = answer.json()["error"]
    assert answer.status_code in (400, 404), error
    assert error["param"] == param, error
    assert words.lower() in error["message"].lower(), error
    assert not Generation.objects.exists()


def test_a_body_that_is_not_json_is_refused(alice: User) -> None:
    _token, value = token_of(alice)
    answer = api(value).post(
        "/v1/images/generations", "prompt=a cat", content_type="application/json"
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_json"


def test_openais_auto_and_sizes_map_onto_the_forms(alice: User) -> None:
    token, value = token_of(alice, only_me_default=True)
    answer = post(
        api(value),
        {
            "model": "gpt-image-1.5",
            "prompt": "a cat",
            "size": "auto",
            "quality": "auto",
            "background": "auto",
            "output_format": "png",
            "user": "someone",
            "n": 2,
        },
    )
    assert answer.status_code == 202, answer.json()
    job = Generation.objects.get()
    assert (job.model, job.size, job.quality, job.n) == ("gpt-image-1.5", "1:1", "high", 2)
    assert job.private and job.api_token == token
    post(
        api(value),
        {
            "model": "gpt-image-2",
            "prompt": "a dog",
            "size": "16:9",
            "resolution": "2K",
            "private": False,
        },
    )
    wide = Generation.objects.get(prompt="a dog")
    assert (wide.size, wide.resolution, wide.private) == ("16:9", "2K", False)


def test_the_same_idempotency_key_finds_the_same_job(alice: User) -> None:
    _token, value = token_of(alice)
    client = Client(headers={"Authorization": f"Bearer {value}", "Idempotency-Key": "k-1"})
    first = post(client, {"prompt": "a cat", "quality": "low"}).json()
    again = post(client, {"prompt": "a cat", "quality": "low"}).json()
    assert first["id"] == again["id"] and Generation.objects.count() == 1


def test_a_failed_job_answers_why(alice: User) -> None:
    job = make_generation(
        alice,
        state=State.FAILED,
        error_code="content_policy_violation",
        error_message="The prompt was refused by the content filter.",
    )
    request = mock.Mock(build_absolute_uri=lambda path: f"http://testserver{path}")
    from playground.api import views

    with pytest.raises(views.ApiError) as refused:
        views._answer(request, job, "url")
    assert refused.value.status == 400
    assert refused.value.code == "content_policy_violation"
    ended = make_generation(alice, state=State.FAILED, error_code="service_error")
    with pytest.raises(views.ApiError) as passing:
        views._answer(request, ended, "url")
    assert passing.value.status == 502
    unsure = make_generation(alice, state=State.UNCERTAIN, error_code="uncertain")
    with pytest.raises(views.ApiError) as uncertain:
        views._answer(request, unsure, "url")
    assert uncertain.value.status == 424  # never retried by a client on its own


def test_usage_says_our_estimate_and_evolinks_charge(alice: User) -> None:
    job = make_generation(
        alice,
        state=State.COMPLETED,
        estimated_credits="1.5",
        credits_charged="1.25",
        usage={"credits_used": 1.25},
    )
    assert results.usage_of(job) == {
        "estimated_credits": 1.5,
        "charged_credits": 1.25,
        "counted_credits": 1.25,
        "charge": "charged",
        "evolink": {"credits_used": 1.25},
    }


def test_expired_links_are_refused_even_for_existing_images(alice: User) -> None:
    job = make_generation(alice, state=State.COMPLETED)
    image = save_result(job, 0, png_bytes())
    token = results.image_token(image)
    assert results.image_of(token) == image
    with mock.patch("time.time", return_value=time.time() + 3601):
        assert results.image_of(token) is None
    assert results.image_of(token + "x") is None
    assert results.image_of(signing.dumps("1", salt=results.SALT)) is None


def test_the_tokens_value_is_in_no_log_line_nor_answer(
    alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token, value = token_of(alice)
    secret = value.split("_", 2)[2]  # pgk_<hex prefix>_<secret, which may hold "_">
    answers = [
        api(value).get("/v1/jobs"),
        post(api(value), {"prompt": "a cat", "size": "1x1"}),
        api(value + "x").get("/v1/models"),
    ]
    token.revoke(by=alice)
    answers.append(api(value).get("/v1/models"))
    assert [answer.status_code for answer in answers] == [200, 400, 401, 401]
    for answer in answers:
        assert secret not in answer.content.decode()
    assert secret not in caplog.text


def test_a_jobs_page_says_it_came_through_the_api(alice: User, bob_client: Client) -> None:
    token, _value = token_of(alice)
    job = make_generation(alice, api_token=token, state=State.COMPLETED)
    page = bob_client.get(f"/generations/{job.public_id}/").content.decode()
    assert 'via API · <span translate="no">script</span>' in page
    token.delete()  # the job outlives its token
    job.refresh_from_db()
    assert job.api_token is None
    assert "via API" not in bob_client.get(f"/generations/{job.public_id}/").content.decode()
