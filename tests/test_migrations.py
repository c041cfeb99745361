"""The data migration that brings existing people and jobs into teams.

`playground/generations/migrations/0006_personal_teams.py`: every person who existed
before teams gets a personal team (address from their username, unique), as its admin,
remembered as their current team; their jobs move into it, and the references of those
jobs keep pointing at them.

The test migrates the test database back to before teams, writes rows with the
historical models, migrates forward and looks at the result. It runs outside a
transaction (schema changes on SQLite need that), and always leaves the database at
the latest migrations for the tests that follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from playground.generations.models import Generation, GenerationReference
from playground.teams.models import Membership, Profile, Role, Team

# The generations app's label is "playground".
BEFORE_TEAMS = [("playground", "0004_reconcile_schedule_path"), ("teams", None)]
JOBS_BEFORE_TEAMS = [("playground", "0004_reconcile_schedule_path")]


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def migrate(targets: list[tuple[str, str | None]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def state_at(nodes: list[tuple[str, str]]) -> Any:
    """The historical models as they were at `nodes`."""
    return MigrationExecutor(connection).loader.project_state(nodes).apps


@pytest.fixture
def before_teams(transactional_db: None) -> Iterator[Any]:
    """The database as it was before teams existed, and its historical models."""
    migrate(BEFORE_TEAMS)
    try:
        yield state_at(JOBS_BEFORE_TEAMS)
    finally:
        # Whatever happened above, the tests that follow need the full schema.
        try:
            migrate(latest())
        except Exception:
            # A forward run that failed left rows it chokes on: drop them, then retry.
            call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
            migrate(latest())


def make_job(apps: Any, owner: Any, prompt: str) -> Any:
    Generation = apps.get_model("playground", "Generation")
    payload = {"model": "gpt-image-2", "prompt": prompt, "size": "auto", "quality": "low", "n": 1}
    return Generation.objects.create(
        owner=owner,
        model="gpt-image-2",
        prompt=prompt,
        size="auto",
        quality="low",
        n=1,
        state="completed",
        request_payload=payload,
    )


def make_reference(apps: Any, job: Any, sha: str, position: int = 0) -> Any:
    ReferenceImage = apps.get_model("playground", "ReferenceImage")
    GenerationReference = apps.get_model("playground", "GenerationReference")
    image = ReferenceImage.objects.create(
        sha256=sha * 64,
        file=f"references/{sha}.png",
        thumbnail=f"references/{sha}.webp",
        format="PNG",
        width=8,
        height=8,
        bytes=100,
    )
    return GenerationReference.objects.create(generation=job, reference=image, position=position)


@pytest.mark.django_db(transaction=True)
def test_everyone_gets_a_personal_team_and_their_jobs_move_into_it(before_teams: Any) -> None:
    apps = before_teams
    assert "teams" not in {model._meta.app_label for model in apps.get_models()}
    User = apps.get_model("auth", "User")
    ann = User.objects.create(username="Ann", password="!")
    ann_dot = User.objects.create(username="ann.", password="!")  # also slugifies to "ann"
    ann_2 = User.objects.create(username="Ann 2", password="!")  # "ann-2", taken by then
    symbols = User.objects.create(username="@@@", password="!")  # slugifies to nothing
    idle = User.objects.create(username="Zoë Quiet", password="!")  # no jobs at all
    ann_jobs = [make_job(apps, ann, "ann's fox"), make_job(apps, ann, "ann's owl")]
    dot_job = make_job(apps, ann_dot, "ann.'s heron")
    symbols_job = make_job(apps, symbols, "a symbol")
    ann_ref = make_reference(apps, ann_jobs[0], "a")
    dot_refs = [make_reference(apps, dot_job, "b", 0), make_reference(apps, dot_job, "c", 1)]

    migrate(latest())

    expected = {
        ann.pk: ("ann", "Ann"),
        ann_dot.pk: ("ann-2", "ann."),
        ann_2.pk: ("ann-2-2", "Ann 2"),
        symbols.pk: (f"user-{symbols.pk}", "@@@"),
        idle.pk: ("zoe-quiet", "Zoë Quiet"),
    }
    assert Team.objects.count() == len(expected)
    assert len(set(Team.objects.values_list("slug", flat=True))) == len(expected)
    for user_pk, (slug, name) in expected.items():
        team = Team.objects.get(slug=slug)
        assert team.name == name
        # Each person is the only member, and the admin, of their own team.
        (only,) = Membership.objects.filter(team=team)
        assert only.user_id == user_pk and only.role == Role.ADMIN
        assert Membership.objects.filter(user_id=user_pk).count() == 1
        assert Profile.objects.get(user_id=user_pk).current_team == team

    ann_team = Team.objects.get(slug="ann")
    dot_team = Team.objects.get(slug="ann-2")
    for job in ann_jobs:
        assert Generation.objects.get(pk=job.pk).team == ann_team
    assert Generation.objects.get(pk=dot_job.pk).team == dot_team
    assert Generation.objects.get(pk=symbols_job.pk).team.slug == f"user-{symbols.pk}"
    assert not Generation.objects.filter(team__isnull=True).exists()
    assert not Generation.objects.filter(team__slug="zoe-quiet").exists()

    # The references still belong to the same jobs, in the same order.
    assert GenerationReference.objects.get(pk=ann_ref.pk).generation_id == ann_jobs[0].pk
    moved = GenerationReference.objects.filter(generation_id=dot_job.pk).order_by("position")
    assert [link.pk for link in moved] == [link.pk for link in dot_refs]
    assert [link.reference.sha256[0] for link in moved] == ["b", "c"]

    # Each person still sees their own jobs, and nobody else's.
    from django.contrib.auth import get_user_model

    people = get_user_model().objects
    assert set(
        Generation.objects.visible_to(people.get(pk=ann.pk)).values_list("pk", flat=True)
    ) == {job.pk for job in ann_jobs}
    assert set(
        Generation.objects.visible_to(people.get(pk=ann_dot.pk)).values_list("pk", flat=True)
    ) == {dot_job.pk}
    assert not Generation.objects.visible_to(people.get(pk=idle.pk)).exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_runs_on_a_database_with_nobody_in_it(before_teams: Any) -> None:
    migrate(latest())
    assert not Team.objects.exists()
    assert not Membership.objects.exists()
    assert not Profile.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_schema_is_back_at_the_latest_migrations_afterwards() -> None:
    """Runs after the tests above in this file: nothing is left to apply."""
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    columns = {
        c.name
        for c in connection.introspection.get_table_description(
            connection.cursor(), Generation._meta.db_table
        )
    }
    assert {"team_id", "private", "parent_id", "parent_relation"} <= columns


BEFORE_NUMBERS = [("playground", "0011_reference_reencoded")]


@pytest.fixture
def before_numbers(transactional_db: None) -> Iterator[Any]:
    migrate(BEFORE_NUMBERS)
    try:
        yield state_at(BEFORE_NUMBERS)
    finally:
        migrate(latest())


@pytest.mark.django_db(transaction=True)
def test_existing_jobs_are_numbered_per_team_in_the_order_they_were_made(
    before_numbers: Any,
) -> None:
    User = before_numbers.get_model("auth", "User")
    OldTeam = before_numbers.get_model("teams", "Team")
    OldJob = before_numbers.get_model("playground", "Generation")
    owner = User.objects.create(username="old-timer")
    north, south = (OldTeam.objects.create(name=n, slug=n) for n in ("north", "south"))
    made = [
        OldJob.objects.create(team=team, owner=owner, model="gpt-image-2", prompt=f"{i}")
        for i, team in enumerate([north, south, north, north, south])
    ]

    migrate(latest())

    numbers = dict(Generation.objects.values_list("pk", "number"))
    assert [numbers[job.pk] for job in made] == [1, 1, 2, 3, 2]
    # New jobs go on from there, in their own team.
    new = Generation.objects.create(
        team_id=south.pk, owner_id=owner.pk, model="gpt-image-2", prompt="new"
    )
    assert new.number == 3
