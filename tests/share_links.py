"""Helpers of the share-link tests: a team's job with real images, and a link of them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from playground.sharing.models import ShareLink
from tests.factories import make_generation, png_bytes


def job_with_images(owner: User, count: int = 2, **fields: Any) -> Generation:
    job = make_generation(
        owner, prompt=fields.pop("prompt", "a red fox"), state=State.COMPLETED, n=count, **fields
    )
    for index in range(count):
        save_result(job, index, png_bytes(colour=("teal", "orange", "navy")[index % 3]))
    return job


def share(client: Client, team: str, **fields: Any) -> ShareLink:
    """Press "Share link" with these source fields and options; the link it made."""
    before = set(ShareLink.objects.values_list("pk", flat=True))
    response = client.post(f"/t/{team}/share-links/create/", fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    made = ShareLink.objects.exclude(pk__in=before).get()
    assert response["Location"] == f"/t/{team}/share-links/{made.pk}/"
    return made


def share_job(client: Client, job: Generation, **options: Any) -> ShareLink:
    return share(client, job.team.slug, source="job", source_id=str(job.public_id), **options)
