"""The admin shows the gallery's tables to staff for support, and keeps what must not
change (runs already paid for, exports) read-only."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.exports.models import Export
from playground.gallery.models import Collection
from playground.matrix.models import MatrixRun, PromptTemplate
from playground.teams.models import Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(alice: User) -> Client:
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client = Client()
    client.force_login(alice)
    return client


def test_staff_see_the_gallery_tables(staff_client: Client, alice: User, team_a: Team) -> None:
    Collection.objects.create(team=team_a, name="Spring campaign", created_by=alice)
    PromptTemplate.objects.create(team=team_a, name="Posters", text="a {animal}", created_by=alice)
    run = MatrixRun.objects.create(
        team=team_a, created_by=alice, text="a lighthouse", client_token=uuid.uuid4()
    )
    export = Export.objects.create(
        team=team_a, requested_by=alice, source="selection", description="3 images"
    )
    for path, text in (
        ("/admin/gallery/collection/", "Spring campaign"),
        ("/admin/matrix/prompttemplate/", "Posters"),
        ("/admin/matrix/matrixrun/", str(run.public_id)),
        ("/admin/exports/export/", str(export.public_id)),
    ):
        response = staff_client.get(path)
        assert response.status_code == 200, path
        assert text in response.content.decode(), path


def test_runs_and_exports_are_read_only_in_the_admin(
    staff_client: Client, alice: User, team_a: Team
) -> None:
    run = MatrixRun.objects.create(
        team=team_a, created_by=alice, text="a lighthouse", client_token=uuid.uuid4()
    )
    export = Export.objects.create(
        team=team_a, requested_by=alice, source="selection", description="3 images"
    )
    assert staff_client.get("/admin/matrix/matrixrun/add/").status_code == 403
    assert staff_client.get("/admin/exports/export/add/").status_code == 403
    page = staff_client.get(f"/admin/exports/export/{export.pk}/change/").content.decode()
    assert "lease_token" not in page and 'name="state"' not in page
    page = staff_client.get(f"/admin/matrix/matrixrun/{run.pk}/change/").content.decode()
    assert 'name="text"' not in page
