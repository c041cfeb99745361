"""Many jobs on purpose: matrix runs (one prompt × models × qualities × sizes) and
prompt templates (a prompt with {variables} × values).

A run is a record of what was asked and how it was laid out (rows, columns, labels);
its jobs are ordinary jobs of the team, made the one way every job is made
(playground/generations/creation.py), so spend, lineage and visibility are theirs. A cell
outlives its job: deleting a job leaves the cell saying so (SET_NULL).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from playground.teams.models import Membership, Team


class RunKind(models.TextChoices):
    MATRIX = "matrix", _("Matrix run")
    TEMPLATE = "template", _("Prompt template")


class MatrixRunQuerySet(models.QuerySet["MatrixRun"]):
    def visible_to(self, user: User, team: Team | None = None) -> MatrixRunQuerySet:
        """The runs this person may see: every read of runs goes through this scope.

        Exactly as for jobs (`Generation.objects.visible_to`): the runs of their teams
        (of `team` only, when given), except colleagues' "Only me" runs, whose prompt,
        labels and title are theirs alone.
        """
        if not user.is_authenticated:
            return self.none()
        teams = Membership.objects.filter(user_id=user.pk).values("team_id")
        visible = self.filter(team_id__in=teams).filter(Q(private=False) | Q(created_by_id=user.pk))
        if team is not None:
            visible = visible.filter(team=team)
        return visible


class MatrixRun(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="matrix_runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=RunKind.choices, default=RunKind.MATRIX)
    # The prompt of a matrix run, or the template (with its {variables}) of a template run.
    text = models.TextField()
    # What was chosen (models, qualities, sizes, resolution, n, variables and values) and
    # how the grid is laid out (row and column labels, the settings all cells share).
    choices = models.JSONField(default=dict)
    # "Only me": the run (its prompt, labels, title) is its maker's alone, as its jobs are.
    private = models.BooleanField(default=False)
    axes = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # "Keep as a collection": the collection made from the run (SET_NULL: deleting the
    # collection lets the run be kept again).
    collection = models.ForeignKey(
        "gallery.Collection", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The form's one-use token: a double click or a replayed POST finds this run
    # instead of making a second one.
    client_token = models.UUIDField()

    objects = MatrixRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "client_token"], name="unique_run_token_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.public_id} of team {self.team_id}"

    @property
    def title(self) -> str:
        """How lists and a kept collection name the run: its prompt, shortened."""
        first_line = " ".join(self.text.split())
        return first_line if len(first_line) <= 60 else f"{first_line[:59]}…"


class MatrixCell(models.Model):
    run = models.ForeignKey(MatrixRun, on_delete=models.CASCADE, related_name="cells")
    generation = models.ForeignKey(
        "playground.Generation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    row = models.PositiveSmallIntegerField()
    column = models.PositiveSmallIntegerField()
    row_label = models.CharField(max_length=300)
    column_label = models.CharField(max_length=300)
    # The cell's own settings (model, quality, size, resolution, n, and its filled prompt).
    settings = models.JSONField(default=dict)
    # Why no job was made for this cell (a size its model does not accept); blank when
    # a job was made.
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["row", "column"]
        constraints = [
            models.UniqueConstraint(fields=["run", "row", "column"], name="unique_matrix_cell")
        ]

    def __str__(self) -> str:
        return f"{self.run_id} [{self.row}, {self.column}]"


class PromptTemplate(models.Model):
    """A prompt with {variables} and the values to try for each, saved for the team."""

    team = models.ForeignKey(
        "teams.Team", on_delete=models.CASCADE, related_name="prompt_templates"
    )
    name = models.CharField(max_length=120)
    text = models.TextField()
    # variable -> list of values, in the order the template names them.
    values = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="unique_template_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} (team {self.team_id})"
