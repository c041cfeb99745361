"""Making a run's jobs (all or none), showing its grid, and keeping it as a collection."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from playground.gallery import collections
from playground.gallery.forms import NAME_MAX, name_problem
from playground.gallery.models import Collection
from playground.generations import budgets, spend
from playground.generations.creation import insert_generation
from playground.generations.models import Generation, HistoryClock, ResultImage
from playground.matrix.models import MatrixCell, MatrixRun
from playground.matrix.plan import Cell as PlanCell
from playground.matrix.plan import Plan
from playground.teams.models import Membership, Team

RECENT_RUNS = 10


def create_run(
    membership: Membership, *, token: uuid.UUID, kind: str, text: str, choices: dict, plan: Plan
) -> MatrixRun:
    """One job per cell of a ready plan, or none at all.

    The budget is checked once, on the total, with the team locked; each job is stored
    the one way (`creation.insert_generation`: lineage, estimate, references, a worker woken
    on commit). The form's token makes a double click or a replayed POST find the run
    it already made. Raises budgets.OverBudget, having stored nothing.
    """
    user, team = membership.user, membership.team
    existing = MatrixRun.objects.filter(created_by=user, client_token=token).first()
    if existing:
        return existing
    jobs = plan.jobs
    try:
        with transaction.atomic():
            budgets.lock(team)
            budgets.check(membership, plan.jobs_total, jobs=len(jobs))
            run = MatrixRun.objects.create(
                team=team,
                created_by=user,
                kind=kind,
                text=text,
                choices=choices,
                private=bool(choices.get("private")),
                axes={
                    "rows": plan.rows,
                    "columns": plan.columns,
                    "row_heading": plan.row_heading,
                    "column_heading": plan.column_heading,
                    "shared": plan.shared,
                },
                client_token=token,
            )
            cells = []
            for cell in plan.cells:
                generation = None
                if cell.is_job:
                    assert cell.estimate is not None
                    generation = insert_generation(
                        membership,
                        cell.form,
                        # Each job's own token follows from the run's: the studio's
                        # guard against a second copy holds for every cell too.
                        token=uuid.uuid5(token, f"{cell.row}:{cell.column}"),
                        estimate=cell.estimate,
                    )
                cells.append(
                    MatrixCell(
                        run=run,
                        generation=generation,
                        row=cell.row,
                        column=cell.column,
                        row_label=cell.row_label[:300],
                        column_label=cell.column_label[:300],
                        settings=_settings_of(cell),
                        note=cell.skipped,
                    )
                )
            MatrixCell.objects.bulk_create(cells)
    except IntegrityError:
        # The same form sent twice at once: the other request made the run.
        return MatrixRun.objects.get(created_by=user, client_token=token)
    return run


def _settings_of(cell: PlanCell) -> dict[str, Any]:
    data = cell.form.data
    settings = {
        name: data[name]
        for name in ("model", "prompt", "size", "resolution", "quality", "n")
        if data.get(name)
    }
    if cell.settings.get("vars"):
        settings["vars"] = cell.settings["vars"]
    return settings


def runs_of(user: User, team: Team) -> QuerySet[MatrixRun]:
    """The team's runs this person may see (a colleague's "Only me" run is not listed)."""
    return (
        MatrixRun.objects.visible_to(user, team)
        .select_related("created_by")
        .annotate(cell_count=Count("cells"))
    )


@dataclass(frozen=True)
class Cell:
    """One cell of the run page: the stored cell and what this person may see of its
    job. `job` is None when the cell's job was not made, was deleted, or is `hidden`
    (a colleague's "Only me" job: the cell says it is there, never what it is)."""

    cell: MatrixCell
    job: Generation | None
    hidden: bool
    charge: spend.Charge | None  # what the job counts for, when it is shown

    @property
    def note(self) -> str:
        """Why the cell was not made (empty if it was)."""
        return self.cell.note


@dataclass
class Row:
    label: str
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Grid:
    rows: list[Row]
    stamp: str
    in_flight: bool
    jobs: int
    finished: int
    credits: Decimal
    estimated: bool  # some of `credits` are estimates or holds, not final charges


def grid_of(run: MatrixRun, user: User) -> Grid:
    """The run's cells as this person may see them, row by row.

    The stamp is read first: a job that changes after this read moves the team's clock,
    so the next live check redraws.
    """
    stamp = live_stamp(run)
    cells = list(run.cells.all())
    jobs = {
        job.pk: job
        for job in Generation.objects.visible_to(user, run.team)
        .filter(pk__in=[c.generation_id for c in cells if c.generation_id])
        .select_related("owner")
        # Each tile shows its review badge: joined, not one query per tile.
        .prefetch_related(Prefetch("images", ResultImage.objects.select_related("review")))
    }
    rows: dict[int, Row] = {}
    credits, estimated, in_flight, finished = Decimal(0), False, False, 0
    for cell in cells:
        job = jobs.get(cell.generation_id) if cell.generation_id is not None else None
        charge = spend.charge_of(job) if job is not None else None
        hidden = cell.generation_id is not None and job is None
        rows.setdefault(cell.row, Row(cell.row_label)).cells.append(Cell(cell, job, hidden, charge))
        if job is not None and charge is not None:
            credits += charge.credits
            estimated = estimated or not charge.is_final
            if job.is_in_flight:
                in_flight = True
            else:
                finished += 1
    return Grid(
        rows=[rows[r] for r in sorted(rows)],
        stamp=stamp,
        in_flight=in_flight,
        jobs=len(jobs),
        finished=finished,
        credits=credits,
        estimated=estimated,
    )


def live_stamp(run: MatrixRun) -> str:
    """What the run page's live check compares: the team's history clock, which every
    change of a job moves (one primary-key read)."""
    return f"c{HistoryClock.read(run.team_id)}"


def keep(run: MatrixRun, membership: Membership) -> tuple[Collection, int]:
    """The run's collection, made on first use and named after the run, with every image
    of the run this person may see (images that arrived since the last time are added).
    Returns the collection and how many images were new to it."""
    user, team = membership.user, membership.team
    with transaction.atomic():
        # Lock the run row only ("of self"): PostgreSQL refuses FOR UPDATE on the nullable
        # side of the outer join that select_related("collection") makes.
        run = (
            MatrixRun.objects.select_for_update(of=("self",))
            .select_related("collection")
            .get(pk=run.pk)
        )
        collection = run.collection
        if collection is None:
            collection = _new_collection(run, membership)
            run.collection = collection
            run.save(update_fields=["collection"])
        job_ids = list(
            run.cells.exclude(generation=None)
            .order_by("row", "column")
            .values_list("generation_id", flat=True)
        )
        order = {job_id: i for i, job_id in enumerate(job_ids)}
        found = sorted(
            ResultImage.objects.visible_to(user, team).filter(generation_id__in=job_ids),
            key=lambda image: (order[image.generation_id], image.index),
        )
        added = collections.add(collection, found, user) if found else 0
        if collection.cover_id is None and found:
            Collection.objects.filter(pk=collection.pk).update(cover=found[0])
    return collection, added


def _new_collection(run: MatrixRun, membership: Membership) -> Collection:
    if run.private:
        # Collections are the team's: an "Only me" run's prompt must not name one.
        stamp = formats.date_format(timezone.localtime(run.created_at), "SHORT_DATETIME_FORMAT")
        base = _("Run of %(date)s") % {"date": stamp}
    else:
        base = _("Run: %(title)s") % {"title": run.title}
    base = base[: NAME_MAX - 8]
    for attempt in range(1, 50):
        name = base if attempt == 1 else f"{base} ({attempt})"
        if name_problem(membership.team, name):
            continue
        created = collections.create(membership.team, name, membership.user)
        if created is not None:
            return created
    # Fifty runs with the same prompt: the run's id tells them apart.
    created = collections.create(membership.team, f"{base} {run.public_id}", membership.user)
    assert created is not None
    return created
