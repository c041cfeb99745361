"""An "Only me" matrix run is its maker's alone, as its jobs are (issue 19, finding 1):
its page, its place in the recent runs, "Run again…" (`matrix/?run=`), "Keep as a
collection" and its exports are 404 for everyone else in the team; the collection its
maker keeps is not named after its prompt."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.exports.models import Export
from playground.gallery.models import Collection
from playground.matrix.models import MatrixRun
from playground.teams.models import Team
from tests.test_matrix import MATRIX, finish, form, generate, run_of

pytestmark = pytest.mark.django_db

SECRET = "a secret fox plan"


@pytest.fixture
def private_run(alice_client: Client) -> MatrixRun:
    run = run_of(generate(alice_client, form(prompt=SECRET, private="on")))
    finish(run.cells.get().generation)
    return run


def test_the_run_remembers_only_me(private_run: MatrixRun, alice_client: Client) -> None:
    assert private_run.private is True
    shared = run_of(generate(alice_client, form()))
    assert shared.private is False


def test_colleagues_get_404_for_the_private_runs_page_and_its_maker_sees_it(
    private_run: MatrixRun,
    alice_client: Client,
    bob_client: Client,
    vera_client: Client,
    ada_client: Client,
) -> None:
    url = f"/t/a/runs/{private_run.public_id}/"
    for client in (bob_client, vera_client, ada_client):
        response = client.get(url)
        assert response.status_code == 404
        assert SECRET not in response.content.decode()
    page = alice_client.get(url).content.decode()
    assert SECRET in page and 'data-testid="run-private"' in page


def test_the_recent_runs_list_shows_a_private_run_to_its_maker_only(
    private_run: MatrixRun, alice_client: Client, bob_client: Client
) -> None:
    assert SECRET not in bob_client.get(MATRIX).content.decode()
    assert str(private_run.public_id) not in bob_client.get(MATRIX).content.decode()
    assert SECRET in alice_client.get(MATRIX).content.decode()


def test_run_again_refuses_a_colleagues_private_run(
    private_run: MatrixRun, alice_client: Client, bob_client: Client
) -> None:
    response = bob_client.get(f"{MATRIX}?run={private_run.public_id}")
    assert response.status_code == 404
    assert SECRET not in response.content.decode()
    assert bob_client.get(f"{MATRIX}?run=not-a-uuid").status_code == 404
    mine = alice_client.get(f"{MATRIX}?run={private_run.public_id}")
    assert mine.status_code == 200 and mine.context["form"].data["prompt"] == SECRET


def test_a_colleague_cannot_keep_a_private_run(
    private_run: MatrixRun, bob_client: Client, ada_client: Client
) -> None:
    for client in (bob_client, ada_client):
        assert client.post(f"/t/a/runs/{private_run.public_id}/keep/").status_code == 404
    assert not Collection.objects.exists()


def test_the_maker_keeps_a_private_run_under_a_name_without_its_prompt(
    private_run: MatrixRun, alice_client: Client, team_a: Team
) -> None:
    alice_client.post(f"/t/a/runs/{private_run.public_id}/keep/")
    collection = Collection.objects.get(team=team_a)
    assert "fox" not in collection.name and collection.name.startswith("Run of ")
    assert collection.items.count() == 1


@pytest.mark.parametrize("by", ["pk", "public_id"])
def test_a_colleague_cannot_export_a_private_run(
    private_run: MatrixRun, bob_client: Client, alice_client: Client, by: str
) -> None:
    data = {"source": "run", "source_id": str(getattr(private_run, by))}
    assert bob_client.post("/t/a/exports/", data).status_code == 404
    assert not Export.objects.exists()
    assert alice_client.post("/t/a/exports/", data).status_code == 302
    assert Export.objects.get().requested_by.username == "alice"


def test_the_migration_marks_old_only_me_runs_private(private_run: MatrixRun, alice: User) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("playground.matrix.migrations.0002_run_private")
    MatrixRun.objects.update(private=False)
    migration.private_from_choices_and_jobs(apps, None)
    assert MatrixRun.objects.get().private is True
