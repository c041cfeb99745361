"""Rows for tests that start from a given state rather than from the form: jobs,
results, stored API keys."""

from __future__ import annotations

from typing import Any

from playground.billing.models import ApiKey
from playground.generations.models import Generation, ResultImage
from playground.teams.models import Team

# What a stored key's secret is unless a test says otherwise (the simulator accepts it).
KEY_SECRET = "sk-evo-test-0000-abcd"


def make_generation(
    owner: Any,
    *,
    prompt: str = "x",
    model: str = "gpt-image-2",
    size: str = "auto",
    quality: str = "low",
    n: int = 1,
    **fields: Any,
) -> Generation:
    """A job whose stored request matches its columns, as the studio would store it."""
    payload = {"model": model, "prompt": prompt, "size": size, "quality": quality, "n": n}
    team = fields.pop("team", None) or Team.objects.filter(memberships__user=owner).first()
    return Generation.objects.create(
        team=team,
        owner=owner,
        model=model,
        prompt=prompt,
        size=size,
        quality=quality,
        n=n,
        request_payload=payload,
        **fields,
    )


def fake_result(generation: Generation, index: int = 0) -> ResultImage:
    """A result row without a real file, for pages that only list results."""
    return ResultImage.objects.create(
        generation=generation,
        index=index,
        file="x.png",
        thumbnail="x.webp",
        format="PNG",
        width=1,
        height=1,
        bytes=1,
    )


def png_bytes(width: int = 8, height: int = 8, colour: str = "teal") -> bytes:
    """A small real PNG (for results and references)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def team_at_work(password: str, prompt: str = "a fox") -> tuple[Any, Generation, Generation]:
    """Team "Studio North" (/t/north/) whose admin ana has a finished job of two images
    (`prompt`), a failed one (EvoLink's content filter, stored as the pipeline stores
    it) and a queued one: the pages people work in, with something on each.

    Returns ana, the finished job and the failed one."""
    from django.contrib.auth.models import User

    from playground.evolink.errors import ERRORS
    from playground.generations.jobs import save_result
    from playground.generations.models import State
    from playground.teams.models import Membership, Role

    team = Team.objects.create(name="Studio North", slug="north")
    user = User.objects.create_user("ana", password=password)
    Membership.objects.create(user=user, team=team, role=Role.ADMIN)
    done = make_generation(
        user, team=team, prompt=prompt, size="1024x1536", n=2, state=State.COMPLETED
    )
    for index in range(2):
        save_result(done, index, png_bytes(128, 192))
    failed = make_generation(
        user,
        team=team,
        prompt="blocked",
        state=State.FAILED,
        error_code="content_policy_violation",
        error_message=str(ERRORS["content_policy_violation"].message),
    )
    make_generation(user, team=team, prompt="waiting", state=State.QUEUED)
    return user, done, failed


def stored_key(
    label: str = "Main", secret: str = KEY_SECRET, team: Team | None = None, **fields: Any
) -> ApiKey:
    """An API key saved as the keys page saves it (secret encrypted); `team=None` is a
    key shared by every team. `fields`: priority, enabled, paused_until, ..."""
    key = ApiKey(label=label, team=team, **fields)
    key.set_secret(secret)
    key.save()
    return key
