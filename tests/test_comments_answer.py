"""A thread posted to with htmx comes back as its page drew it: on the job's page with
the image's thumbnail in its title, elsewhere (the lightbox, compare) without."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.generations.jobs import save_result
from playground.generations.models import State
from tests.factories import make_generation, png_bytes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("fields", "thumb"), [({"with_thumb": "1"}, True), ({}, False)])
def test_the_answer_keeps_the_thumbnail_of_the_page_it_came_from(
    alice: User, alice_client: Client, fields: dict[str, str], thumb: bool
) -> None:
    job = make_generation(alice, state=State.COMPLETED)
    image = save_result(job, 0, png_bytes())
    page = alice_client.get(f"/generations/{job.public_id}/").content.decode()
    assert 'name="with_thumb" value="1"' in page
    answer = alice_client.post(
        f"/images/{image.pk}/comments/",
        {"body": "hi", "place": "", **fields},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    assert ('class="comment-thread-thumb"' in answer.content.decode()) is thumb
