"""The studio page: login, one form per model, validation that keeps input, live panel."""

from __future__ import annotations

import json
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.test import Client

from playground.generations.models import Generation
from tests.queue import queued_tasks

pytestmark = pytest.mark.django_db


def test_every_page_but_login_requires_a_login(client: Client) -> None:
    for url in ("/", "/studio/live/", "/t/a/history/", f"/generations/{uuid.uuid4()}/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/"), url
    assert client.get("/login/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.head("/healthz").status_code == 200  # some probes ask with HEAD


def test_log_in_and_land_in_the_studio(client: Client, alice) -> None:
    from tests.conftest import PASSWORD

    response = client.post("/login/", {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/t/a/"  # the studio of alice's team
    assert b"Generate" in response.content


def test_wrong_password_is_refused_with_a_message(client: Client, alice) -> None:
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"enter a correct username and password" in response.content


@pytest.mark.parametrize(
    ("model", "present", "absent"),
    [
        (
            "gpt-image-1",
            ['name="size"', 'value="1024x1536"', 'name="quality"', 'name="n"'],
            ['name="resolution"', 'name="width"'],
        ),
        ("gpt-image-1.5", ['value="2:3"', 'value="1:1" selected'], ['name="resolution"']),
        (
            "gpt-image-2",
            [
                'name="resolution"',
                'name="width"',
                'name="height"',
                'value="21:9"',
                'value="auto" selected',
                'value="medium" selected',
            ],
            ['value="1024x1536"'],
        ),
    ],
)
def test_each_model_has_its_own_form(
    alice_client: Client, model: str, present: list[str], absent: list[str]
) -> None:
    html = alice_client.get(f"/t/a/?model={model}").content.decode()
    assert f'name="model" value="{model}"' in html
    assert ">Generate</button>" in html
    for fragment in present:
        assert fragment in html, fragment
    for fragment in absent:
        assert fragment not in html, fragment


def test_every_control_has_a_visible_label(alice_client: Client) -> None:
    html = alice_client.get("/t/a/?model=gpt-image-2").content.decode()
    for field in ("prompt", "size", "resolution", "width", "height", "quality", "n"):
        assert f'<label for="id_{field}">' in html, field


def test_switching_model_with_htmx_returns_only_the_form_and_keeps_the_prompt(
    alice_client: Client,
) -> None:
    response = alice_client.get(
        "/t/a/?model=gpt-image-1&prompt=a+lighthouse", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="generation-form"')
    assert ">\na lighthouse</textarea>" in html
    assert "<html" not in html


def test_unknown_model_falls_back_to_the_default(alice_client: Client) -> None:
    html = alice_client.get("/t/a/?model=dall-e-9").content.decode()
    assert 'name="model" value="gpt-image-2"' in html


def post_form(client: Client, **data: str):  # type: ignore[no-untyped-def]
    body = {
        "model": "gpt-image-2",
        "prompt": "a red fox in the snow",
        "size": "auto",
        "resolution": "1K",
        "quality": "medium",
        "n": "1",
        "client_token": str(uuid.uuid4()),
    }
    body.update(data)
    return client.post("/t/a/", body)


INVALID_POSTS = [
    (
        {"size": "custom", "width": "1000", "height": "1024"},
        "Width must be a multiple of 16 (got 1,000).",
    ),
    (
        {"size": "custom", "width": "1024", "height": "1000"},
        "Height must be a multiple of 16 (got 1,000).",
    ),
    (
        {"size": "custom", "width": "4000", "height": "1024"},
        "Width must be at most 3,840 px (got 4,000).",
    ),
    ({"size": "custom", "width": "800", "height": "800"}, "between 655,360 and 8,294,400 pixels"),
    ({"size": "custom", "width": "3840", "height": "1264"}, "at most 3× the short edge"),
    ({"size": "custom", "width": "", "height": "1024"}, "Enter a width for the custom size."),
    ({"size": "custom", "width": "abc", "height": "1024"}, "Enter the width as a whole number"),
    ({"size": "7:5"}, "Select a valid choice"),
    ({"resolution": "8K", "size": "16:9"}, "Select a valid choice"),
    ({"quality": "ultra"}, "Select a valid choice"),
    ({"n": "11"}, "from 1 to 10 (got 11)"),
    ({"n": "two"}, "from 1 to 10 (got two)"),
    ({"prompt": ""}, "the prompt is required"),
    ({"prompt": "x" * 32_001}, "32,001 characters"),
    ({"model": "gpt-image-1", "size": "16:9", "quality": "high"}, "Select a valid choice"),
    ({"model": "gpt-image-1", "size": "1:1", "prompt": "hello " * 2001}, "at most 2,000"),
]


@pytest.mark.parametrize(("data", "message"), INVALID_POSTS)
def test_bad_input_is_explained_and_kept_and_creates_nothing(
    alice_client: Client, data: dict[str, str], message: str
) -> None:
    response = post_form(alice_client, **data)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html.replace("&#x27;", "'")
    assert Generation.objects.count() == 0
    assert queued_tasks() == []
    prompt = data.get("prompt", "a red fox in the snow")
    if prompt and len(prompt) < 1000:
        assert f">\n{prompt}</textarea>" in html  # the prompt survives
    for name in ("width", "height"):
        if data.get(name):
            assert f'name="{name}" value="{data[name]}"' in html


def test_htmx_post_with_errors_returns_the_form_fragment(alice_client: Client) -> None:
    response = alice_client.post(
        "/t/a/",
        {
            "model": "gpt-image-2",
            "prompt": "keep me",
            "size": "custom",
            "width": "1000",
            "height": "1024",
            "quality": "high",
            "n": "3",
            "resolution": "2K",
        },
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="generation-form"')
    assert "Width must be a multiple of 16 (got 1,000)." in html
    assert ">\nkeep me</textarea>" in html
    assert 'value="high" selected' in html and 'value="3"' in html


def test_a_valid_post_stores_the_job_and_enqueues_it_after_commit(
    alice_client: Client, alice, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_form(alice_client, size="16:9", resolution="4K", quality="high", n="2")
    assert response.status_code == 302
    assert len(callbacks) == 1
    generation = Generation.objects.get()
    assert generation.owner == alice
    assert generation.request_payload == {
        "model": "gpt-image-2",
        "prompt": "a red fox in the snow",
        "size": "16:9",
        "resolution": "4K",
        "quality": "high",
        "n": 2,
        # gpt-image-2 always says which background and format it wants (their defaults).
        "background": "opaque",
        "output_format": "png",
    }
    assert (generation.output_width, generation.output_height) == (3840, 2160)
    assert generation.estimated_credits > 0
    assert [t["func"] for t in queued_tasks()] == ["playground.generations.jobs.submit"]


def test_a_custom_size_is_sent_as_wxh(alice_client: Client) -> None:
    post_form(alice_client, size="custom", width="1536", height="1024")
    assert Generation.objects.get().request_payload["size"] == "1536x1024"
    assert "resolution" not in Generation.objects.get().request_payload


def test_the_same_form_posted_twice_creates_one_job(alice_client: Client) -> None:
    token = str(uuid.uuid4())
    post_form(alice_client, client_token=token)
    post_form(alice_client, client_token=token)
    assert Generation.objects.count() == 1


def test_an_htmx_post_returns_a_fresh_form_and_refreshes_the_history(alice_client: Client) -> None:
    response = alice_client.post(
        "/t/a/",
        {
            "model": "gpt-image-1",
            "prompt": "again",
            "size": "3:2",
            "quality": "low",
            "n": "2",
            "client_token": str(uuid.uuid4()),
        },
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"history-changed": {}}
    assert (
        ">\nagain</textarea>" in html and 'value="1536x1024" selected' in html
    )  # 3:2, as gpt-image-1 spells it
    assert Generation.objects.count() == 1


# The pages' rates, credits per 1K tokens: image output, and text input (the same for
# all three models). gpt-image-2 bills the prompt once per image, the others once.
GPT_IMAGE_1_OUTPUT = Decimal("2.448")
GPT_IMAGE_2_OUTPUT = Decimal("1.836")
TEXT_INPUT = Decimal("0.306")


def credits(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)


def two(value: Decimal) -> str:
    """Credits as the pages show them: two decimals (the exact figure is on hover)."""
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def visible(html: str) -> str:
    """The text a person reads, tags left out and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {"model": "gpt-image-2", "size": "16:9", "resolution": "4K", "quality": "high"},
            ["16:9 at 4K → 3840×2160", "0 / 32,000 characters"],
        ),
        (
            {"model": "gpt-image-2", "size": "custom", "width": "1000", "height": "1024"},
            ["Width must be a multiple of 16 (got 1,000).", "Fix the size"],
        ),
        (
            {"model": "gpt-image-2", "size": "auto", "prompt": "한국어 プロンプト"},
            ["priced as 2048×2048", "9 / 32,000 characters"],
        ),
        (
            {
                "model": "gpt-image-1",
                "size": "1024x1024",
                "quality": "low",
                "n": "4",
                "prompt": "hello world",
            },
            [
                "2 / 2,000 tokens",
                "≈ 0.67 credits · $0.0098 per image",
                # 4 × 272 output tokens, and the 2-token prompt once (0.000612 credits,
                # less than the hundredth the panel shows).
                "× 4 + &lt; 0.01 credits for the prompt (2 tokens)"
                f" = {two(4 * 272 * GPT_IMAGE_1_OUTPUT / 1000 + 2 * TEXT_INPUT / 1000)}"
                " credits",
            ],
        ),
        (
            {"model": "gpt-image-2", "size": "3:1", "quality": "low", "n": "3", "prompt": "a fox"},
            [
                "≈ 0.11 credits · $0.0017 per image",
                # gpt-image-2 bills the 2-token prompt for each of the 3 images.
                "× 3 + &lt; 0.01 credits for the prompt (2 tokens × 3)"
                f" = {two(3 * (62 * GPT_IMAGE_2_OUTPUT + 2 * TEXT_INPUT) / 1000)} credits",
            ],
        ),
        (
            {"model": "gpt-image-2", "size": "3:1", "resolution": "1K", "quality": "low"},
            ["≈ 0.11 credits · $0.0017 per image", "62 output tokens per image at 1776×592"],
        ),
    ],
)
def test_the_live_panel(alice_client: Client, query: dict, expected: list[str]) -> None:
    token = str(uuid.uuid4())
    response = alice_client.get(
        "/studio/live/", {**query, "client_token": token}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    text = visible(html)
    for fragment in expected:
        assert fragment in text, fragment
    # The token count and pixel size ride along as out-of-band swaps, aimed only at the
    # form that asked (a late answer must not land in a form swapped in since).
    for element in ("prompt-count", "size-preview"):
        assert f"hx-swap-oob=\"outerHTML:#{element}[data-form='{token}']\"" in html, element


def test_the_live_panel_prices_a_long_prompt_apart_from_the_images(alice_client: Client) -> None:
    query = {"model": "gpt-image-2", "size": "3:1", "quality": "low", "prompt": " word" * 6000}
    text = visible(alice_client.get("/studio/live/", query).content.decode())
    # 30,000 characters are 6,000 tokens, billed at the Text Input rate.
    prompt = credits(6000 * TEXT_INPUT / 1000)
    total = credits(62 * GPT_IMAGE_2_OUTPUT / 1000 + 6000 * TEXT_INPUT / 1000)
    assert "30,000 / 32,000 characters" in text
    assert (
        f"≈ 0.11 credits · $0.0017 per image + {two(prompt)} credits for the prompt (6,000 tokens)"
        f" = {two(total)} credits · ${(total / 68).quantize(Decimal('0.0001'), ROUND_HALF_UP)}"
    ) in text
    # Without a prompt nothing is added: the per-image price is the whole estimate.
    html = alice_client.get("/studio/live/", {**query, "prompt": ""}).content.decode()
    assert "≈ 0.11 credits · $0.0017 per image 62 output tokens" in visible(html)
    # Two decimals shown, the exact figure on hover, as everywhere credits are shown.
    assert '<span title="0.11383">0.11</span> credits' in html
    assert "credits for the prompt" not in html


def test_a_live_answer_names_no_form_for_a_bad_token(alice_client: Client) -> None:
    html = alice_client.get(
        "/studio/live/", {"model": "gpt-image-2", "client_token": "'] , body"}
    ).content.decode()
    assert "outerHTML:#prompt-count[data-form='']" in html
    assert "body" not in html.split("<p", 1)[1].split(">", 1)[0]


def test_the_form_and_its_live_parts_carry_the_same_key(alice_client: Client) -> None:
    html = alice_client.get("/t/a/?model=gpt-image-1").content.decode()
    token = html.split('name="client_token" value="', 1)[1].split('"', 1)[0]
    assert f'id="prompt-count" class="hint" data-form="{token}"' in html
    assert f'id="size-preview" class="hint" data-form="{token}"' in html


def test_an_over_long_prompt_is_flagged_live(alice_client: Client) -> None:
    html = alice_client.get(
        "/studio/live/", {"model": "gpt-image-1", "prompt": "hi " * 2100}
    ).content
    assert b"hint over" in html


@pytest.mark.parametrize(
    ("model", "values", "other"),
    [
        ("gpt-image-1", ["1024x1024", "1024x1536", "1536x1024"], "2:3"),
        ("gpt-image-1.5", ["1:1", "2:3", "3:2"], "1024x1536"),
    ],
)
def test_each_pixel_size_is_listed_once_and_either_spelling_is_accepted(
    alice_client: Client, model: str, values: list[str], other: str
) -> None:
    html = alice_client.get(f"/t/a/?model={model}").content.decode()
    select = html.split('name="size"', 1)[1].split("</select>", 1)[0]
    assert [v for v in values if f'value="{v}"' in select] == values
    assert select.count("<option") == 3
    assert "2:3 · 1024×1536" in select
    # A job reused or re-run with the other spelling of the same size still goes.
    response = post_form(alice_client, model=model, size=other, quality="low")
    assert response.status_code == 302
    assert Generation.objects.get().size == values[1]


@pytest.mark.parametrize("n", ["11", "0", "-3", "two"])
def test_an_n_the_form_refuses_gets_no_estimate(alice_client: Client, n: str) -> None:
    html = alice_client.get(
        "/studio/live/", {"model": "gpt-image-2", "size": "auto", "n": n}
    ).content.decode()
    assert "Number of images: a whole number from 1 to 10." in html
    assert "credits" not in html.split('data-testid="estimate">', 1)[1].split("</span>", 1)[0]
    assert "× 10" not in html


def test_a_custom_size_not_typed_yet_is_no_error(alice_client: Client) -> None:
    html = alice_client.get(
        "/studio/live/", {"model": "gpt-image-2", "size": "custom", "width": "", "height": ""}
    ).content.decode()
    assert "Enter a width and a height to see an estimate." in html
    assert 'class="warn"' not in html
    typed = alice_client.get(
        "/studio/live/",
        {"model": "gpt-image-2", "size": "custom", "width": "1000", "height": "1024"},
    ).content.decode()
    assert 'class="warn"' in typed and "multiple of 16" in typed
