"""Generations and their archived results.

The database row is the truth about a job: the queue only wakes workers up, and the
pages render from rows, never by asking the upstream inside a web request. Every
state change is a compare-and-set (`Generation.objects.transition`), so a job
function that runs twice does nothing the second time.

The upstream tasks of a job split into several (`UpstreamTask`, `PartState`) are
defined in parts.py and imported here, so every model of the app is found in this
module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from playground import catalogue, imageformats, stored_messages
from playground.generations import signals

# The mask of an edit lives in masks.py, imported here for the same reason.
from playground.generations.masks import MaskImage as MaskImage

# A split job's upstream tasks live in parts.py; imported here so Django registers the
# model with this app and callers find every model of the app in models.py.
from playground.generations.parts import PART_IN_FLIGHT as PART_IN_FLIGHT
from playground.generations.parts import PartState as PartState
from playground.generations.parts import UpstreamTask as UpstreamTask
from playground.lib import leases
from playground.teams.models import Membership, Team


class State(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SUBMITTING = "submitting", _("Submitting")
    RUNNING = "running", _("Running")
    ARCHIVING = "archiving", _("Saving images")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    # The POST may have reached the upstream, but we never learned the task id:
    # it may exist and be billed, so only a person may decide to submit again.
    UNCERTAIN = "uncertain", _("Submission uncertain")
    # We stopped polling after the local deadline; the task may still finish upstream.
    TIMED_OUT = "timed_out", _("Stopped waiting")
    # Cancelled by a person while still queued: never sent, never charged.
    CANCELLED = "cancelled", _("Cancelled")


IN_FLIGHT_STATES = (State.QUEUED, State.SUBMITTING, State.RUNNING, State.ARCHIVING)
# A transition that writes one of these changes what the job counts for (spend.py):
# apps above (spend alerts) hear of it through `signals.spend_recorded`.
SPEND_FIELDS = frozenset({"credits_reserved", "credits_charged"})
FINAL_STATES = (State.COMPLETED, State.FAILED, State.UNCERTAIN, State.TIMED_OUT, State.CANCELLED)


class Derivation(models.TextChoices):
    """How a job came from another one (its lineage)."""

    EDIT = "edit", _("edited from")
    REFERENCE = "reference", _("used an image of")
    RERUN = "rerun", _("re-ran")
    REUSE = "reuse", _("reused the settings of")


class GenerationQuerySet(models.QuerySet["Generation"]):
    def visible_to(self, user: User, team: Team | None = None) -> GenerationQuerySet:
        """What this person may see: every read of jobs goes through this scope.

        The jobs of the teams they belong to (of `team` only, when given), except
        colleagues' "Only me" jobs. Pages, fragments, images, thumbnails, downloads
        and lineage links all start here.
        """
        if not user.is_authenticated:
            return self.none()
        teams = Membership.objects.filter(user_id=user.pk).values("team_id")
        visible = self.filter(team_id__in=teams).filter(Q(private=False) | Q(owner_id=user.pk))
        if team is not None:
            visible = visible.filter(team=team)
        return visible

    def in_flight(self) -> GenerationQuerySet:
        return self.filter(state__in=IN_FLIGHT_STATES)

    def search(self, text: str) -> GenerationQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(prompt__icontains=text) | Q(model__icontains=text))

    def transition(self, pk: int, from_states: tuple[str, ...] | str, **changes: Any) -> bool:
        """Compare-and-set: move row `pk` on only if it is still in `from_states`.

        Returns whether this caller won. `updated_at` is always stamped so the live
        history can ask for "what changed since".
        """
        if isinstance(from_states, str):
            from_states = (from_states,)
        changes.setdefault("updated_at", timezone.now())
        moved = self.filter(pk=pk, state__in=from_states).update(**changes) == 1
        if moved:
            HistoryClock.tick(job_pks=[pk])
            if changes.get("state") in FINAL_STATES:
                signals.announce_finished(pk, changes["state"])
            if SPEND_FIELDS & changes.keys():
                owner = self.filter(pk=pk).values_list("team_id", "owner_id").first()
                if owner is not None:
                    signals.send_spend_recorded(*owner)
        return moved

    def note_request(self, pk: int, call: str, request_id: str, status: int | None) -> None:
        """Keep an answer's x-request-id on the job (only the worker that holds the job
        writes it, so reading and writing the list back is safe)."""
        if not request_id:
            return
        seen = self.filter(pk=pk).values_list("upstream_request_ids", flat=True).first() or []
        entry = {"call": call, "id": request_id, "status": status, "at": timezone.now().isoformat()}
        self.filter(pk=pk).update(upstream_request_ids=[*seen, entry][-20:])

    def end(
        self,
        pk: int,
        from_states: tuple[str, ...] | str,
        state: str,
        code: str,
        message: str,
        **changes: Any,
    ) -> bool:
        """Compare-and-set into a final state, with the reason a person will read."""
        return self.transition(
            pk,
            from_states,
            state=state,
            error_code=code,
            error_message=message,
            finished_at=timezone.now(),
            **changes,
        )


class Generation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The team the job belongs to, and who made it: jobs stay with the team when
    # their maker leaves it.
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="generations")
    # The number people see ("#12"): counted per team, so a colleague's first job is not
    # "#38". Given by `Generation.save()` to a new row; rows inserted in bulk (tests,
    # benchmarks) have none and show none.
    number = models.PositiveIntegerField(null=True, blank=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generations"
    )
    # The key that paid (chosen by the worker at submit time; none: EVOLINK_API_KEY).
    # Keys that paid for jobs are kept (disabled, not deleted) so spend stays traceable.
    api_key = models.ForeignKey(
        "billing.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="jobs"
    )
    # The key that reads the task when the paying key was refused while it ran (another
    # key of the same EvoLink account); none: the paying key reads it.
    read_api_key = models.ForeignKey(
        "billing.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # "Only me": invisible to colleagues in every list, page, image and download.
    private = models.BooleanField(default=False)
    # Made through the images API with this personal token ("via API · <name>" in the
    # history); none for jobs made in the pages. The job outlives its token.
    api_token = models.ForeignKey(
        "apitokens.ApiToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
    )
    # Lineage: the job this one was made from ("Edit this", "Use as reference",
    # "Re-run", "Reuse settings"), kept when that job is deleted as "from a deleted job".
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="derived"
    )
    parent_relation = models.CharField(max_length=10, choices=Derivation.choices, blank=True)
    # A token rendered into each form: a double-clicked Generate (or a replayed POST)
    # finds the job it already created instead of paying for a second one.
    client_token = models.UUIDField(null=True, blank=True, editable=False)

    model = models.CharField(max_length=40)
    prompt = models.TextField()
    size = models.CharField(max_length=20)
    resolution = models.CharField(max_length=4, blank=True)
    quality = models.CharField(max_length=10)
    n = models.PositiveSmallIntegerField(default=1)
    # gpt-image-2 only (blank for the others): `opaque` / `transparent`, `png` / `jpeg` /
    # `webp`, as sent.
    background = models.CharField(max_length=12, blank=True)
    output_format = models.CharField(max_length=5, blank=True)

    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)

    # The exact request body sent upstream (never the API key).
    request_payload = models.JSONField(default=dict, blank=True)
    upstream_task_id = models.CharField(max_length=100, blank=True, db_index=True)
    upstream_status = models.CharField(max_length=20, blank=True)
    # Upstream result URLs live 24 h; they are never shown to the browser.
    result_urls = models.JSONField(default=list, blank=True)
    results_expire_at = models.DateTimeField(null=True, blank=True)

    estimated_credits = models.DecimalField(max_digits=12, decimal_places=5, default=Decimal(0))
    output_width = models.PositiveIntegerField(null=True, blank=True)
    output_height = models.PositiveIntegerField(null=True, blank=True)
    credits_reserved = models.DecimalField(max_digits=12, decimal_places=5, null=True, blank=True)
    # The final charge, when EvoLink reports one (usage.credits_used); see generations/spend.py.
    credits_charged = models.DecimalField(max_digits=12, decimal_places=5, null=True, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    images_returned = models.PositiveSmallIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    upstream_completed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Bookkeeping for the workers (see playground/generations/jobs.py).
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    poll_deadline = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    # Which worker holds the row for its submit or archive, and until when (leases.py).
    lease_holder = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    download_attempts = models.PositiveSmallIntegerField(default=0)
    # The x-request-id of every create and of every failed read, for EvoLink support:
    # [{"call": "create" | "read", "id", "status", "at"}], the newest last (at most 20).
    upstream_request_ids = models.JSONField(default=list, blank=True)

    objects = GenerationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "client_token"], name="unique_client_token_per_owner"
            ),
            models.UniqueConstraint(fields=["team", "number"], name="unique_job_number_per_team"),
        ]
        # The history is a keyset walk over (team, id), or (owner, id) for "Mine".
        indexes = [
            models.Index(fields=["owner", "-id"], name="history_idx"),
            models.Index(fields=["team", "-id"], name="team_history_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.model} #{self.number or '-'} of team {self.team_id} ({self.state})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and self.number is None and self.team_id:
            # The studio creates jobs with the team row locked (generations/budgets.py), so
            # two presses cannot take the same number; the unique constraint stands
            # behind it everywhere else.
            last = Generation.objects.filter(team_id=self.team_id).aggregate(n=Max("number"))
            self.number = (last["n"] or 0) + 1
        super().save(*args, **kwargs)
        HistoryClock.tick(team_ids=[self.team_id])

    @property
    def spec(self) -> catalogue.ModelSpec:
        return catalogue.get_model(self.model)

    @property
    def error_text(self) -> str:
        """The stored reason (English) in the reader's language, where we wrote it."""
        return stored_messages.readable(self.error_message, self.error_code)

    def set_private(self, private: bool) -> None:
        """ "Only me" on or off; stamps `updated_at` so open histories refresh."""
        Generation.objects.filter(pk=self.pk).update(private=private, updated_at=timezone.now())
        HistoryClock.tick(team_ids=[self.team_id])
        self.private = private

    def delete_with_files(self) -> bool:
        """Delete a finished job and its archived images (files and thumbnails).

        Only a job in a final state: a running one could still be archived into
        files nobody would own. The files go once the deletion has committed, so a
        rolled-back deletion never leaves a job without its images. Reference images
        are stored once per content and shared, so they stay; its mask goes with it,
        unless a job made from this one uses it too.
        """
        names = [
            name
            for image in self.images.all()
            for name in (image.file.name, image.thumbnail.name)
            if name
        ]
        mask_ids = set(self.references.filter(mask__isnull=False).values_list("mask_id", flat=True))
        with transaction.atomic():
            deleted, _counts = Generation.objects.filter(
                pk=self.pk, state__in=FINAL_STATES
            ).delete()
            if deleted:
                unused = MaskImage.objects.filter(pk__in=mask_ids, links__isnull=True)
                names.extend(unused.values_list("file", flat=True))
                unused.delete()
                HistoryClock.tick(team_ids=[self.team_id])
                transaction.on_commit(lambda: _delete_files(names))
        return bool(deleted)

    def cancel(self, by: User) -> bool:
        """Cancel the job if it is still QUEUED: nothing has been sent, so nothing is
        charged. A compare-and-set: once a worker has claimed it, it is too late."""
        # Stored in English whoever cancels; each reader sees it in their language.
        message = stored_messages.CANCELLED_BY % {"name": by.get_username()}
        if self.upstream_tasks.exists():
            # A job sent as several upstream tasks: only the parts not yet sent stop.
            from playground.generations import fanout

            return fanout.cancel(self, message)
        return Generation.objects.end(self.pk, State.QUEUED, State.CANCELLED, "cancelled", message)

    def lineage(self, user: User, depth: int = 10) -> list[dict[str, Any]]:
        """The chain this job came from, nearest first, as far as `depth` links.

        Each link says how (`relation`) and, where this person may see that job, which
        job and who made it; a job they may not see (a colleague's "Only me", another
        team's) or a deleted one is named as such and ends the chain.
        """
        chain: list[dict[str, Any]] = []
        current: Generation = self
        while current.parent_relation and len(chain) < depth:
            parent = (
                Generation.objects.visible_to(user)
                .select_related("owner")
                .filter(pk=current.parent_id)
                .first()
                if current.parent_id
                else None
            )
            relation = Derivation(current.parent_relation)
            if parent is None:
                deleted = current.parent_id is None
                chain.append({"relation": relation, "job": None, "deleted": deleted})
                break
            chain.append({"relation": relation, "job": parent, "deleted": False})
            current = parent
        return chain

    @property
    def is_in_flight(self) -> bool:
        return self.state in IN_FLIGHT_STATES

    @property
    def size_label(self) -> str:
        """How people read the size: "1536×1024" (never "1536x1024"), "2:3 · 2K", "Auto"
        (in the reader's language)."""
        if self.spec.is_flexible and self.size in self.spec.ratios:
            return f"{self.size} · {self.resolution}"
        if wxh := catalogue.parse_wxh(self.size):
            return f"{wxh[0]}×{wxh[1]}"
        if self.size == "auto":
            return str(_("Auto"))
        return self.size

    @property
    def quality_label(self) -> str:
        """The quality as the form names it ("Low"), in the reader's language; the API's
        value (`quality`) is what was sent."""
        return str(catalogue.QUALITY_LABELS.get(self.quality, self.quality))

    @property
    def output_format_label(self) -> str:
        return catalogue.OUTPUT_FORMAT_LABELS.get(self.output_format, self.output_format)

    @property
    def background_label(self) -> str:
        return str(catalogue.BACKGROUND_LABELS.get(self.background, self.background))

    @property
    def output_label(self) -> str:
        """ "PNG · Transparent": the format asked for, and the background where it is not
        the default, in the reader's language ("" for models without them)."""
        parts = [self.output_format_label] if self.output_format else []
        if self.background and self.background != self.spec.default_background:
            parts.append(self.background_label)
        return " · ".join(parts)

    @property
    def is_explicit_size(self) -> bool:
        """The size was given in pixels (WxH), so it needs no translation to pixels."""
        return catalogue.parse_wxh(self.size) is not None

    @property
    def elapsed(self) -> timedelta:
        return (self.finished_at or timezone.now()) - self.created_at

    @property
    def usd_estimate(self) -> Decimal:
        from playground.pricing import to_usd

        return to_usd(self.estimated_credits)


def result_upload_to(instance: ResultImage, filename: str) -> str:
    # Deterministic keys: an archiving step that runs twice overwrites, never duplicates.
    return f"results/{instance.generation.public_id}/{filename}"


class ResultImageQuerySet(models.QuerySet["ResultImage"]):
    def visible_to(self, user: User, team: Team | None = None) -> ResultImageQuerySet:
        """The images this person may see (of `team` only, when given): every read of
        archived images goes through this scope (gallery, lightbox, downloads, exports,
        matrix grids). An image is visible exactly when its job is (`visible_to` of
        Generation): the person's teams' images, minus colleagues' "Only me" ones."""
        jobs = Generation.objects.visible_to(user, team)
        return self.filter(generation__in=jobs).select_related("generation", "generation__owner")


class ResultImage(models.Model):
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="images")
    index = models.PositiveSmallIntegerField()
    file = models.FileField(upload_to=result_upload_to, max_length=255)
    thumbnail = models.FileField(upload_to=result_upload_to, max_length=255)
    format = models.CharField(max_length=10)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveBigIntegerField()
    # Some pixels are not fully opaque (read from the archived bytes): pages show it on
    # a checkerboard, and its thumbnail keeps the alpha channel.
    has_alpha = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ResultImageQuerySet.as_manager()

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "index"], name="unique_result_index")
        ]

    def __str__(self) -> str:
        return f"{self.generation_id}/{self.index}"

    @property
    def extension(self) -> str:
        return imageformats.extension(self.format, default="bin")

    @property
    def content_type(self) -> str:
        return imageformats.mime_type(self.format)

    @property
    def pixels_label(self) -> str:
        """The pixel size as `Generation.size_label` writes a size: "1024×1024"."""
        return f"{self.width}×{self.height}"


class HistoryClock(models.Model):
    """A counter per team, moved by every change a history can show (a job added,
    changed, hidden or deleted). The live check every open tab sends every 2 s compares
    it with the one its page was drawn at: one primary-key read, however many jobs the
    team has (the exact aggregate over the view it replaced scanned them all)."""

    team = models.OneToOneField(
        "teams.Team", on_delete=models.CASCADE, primary_key=True, related_name="history_clock"
    )
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.team_id}: {self.version}"

    @classmethod
    def read(cls, team_id: int) -> int:
        clock, _created = cls.objects.get_or_create(team_id=team_id)
        return clock.version

    @classmethod
    def tick(
        cls, *, team_ids: Iterable[int] | None = None, job_pks: Iterable[int] | None = None
    ) -> None:
        """Move the clocks of these teams, or of the teams of these jobs."""
        clocks = cls.objects.all()
        if team_ids is not None:
            clocks = clocks.filter(team_id__in=team_ids)
        else:
            clocks = clocks.filter(team__generations__pk__in=job_pks)
        clocks.update(version=F("version") + 1)


class Lease(models.Model):
    """A named, expiring lock held in the database (works on SQLite and PostgreSQL).

    The poller takes one so that exactly one loop polls the upstream at a time, and a
    loop whose worker died is replaced once its lease runs out. Its rule is every
    lease's (playground/lib/leases.py); this row guards no other data.
    """

    name = models.CharField(max_length=40, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    COLUMNS: ClassVar[leases.Leases] = leases.Leases(holder="holder", until="expires_at")

    def __str__(self) -> str:
        return f"{self.name} ({self.holder or 'free'})"

    @classmethod
    def acquire(cls, name: str, holder: str, seconds: float) -> bool:
        """Take the lease if it is free."""
        cls.objects.get_or_create(name=name)
        return cls.COLUMNS.take(cls.objects.filter(name=name), holder, timedelta(seconds=seconds))

    @classmethod
    def renew(cls, name: str, holder: str, seconds: float) -> bool:
        """Hold on for `seconds` more, if `holder` still holds it."""
        return cls.COLUMNS.renew(cls.objects.filter(name=name), holder, timedelta(seconds=seconds))

    @classmethod
    def release(cls, name: str, holder: str) -> bool:
        return cls.COLUMNS.release(cls.objects.filter(name=name), holder)

    @classmethod
    def is_free(cls, name: str) -> bool:
        return cls.COLUMNS.is_free(cls.objects.filter(name=name))


def reference_upload_to(instance: ReferenceImage, filename: str) -> str:
    return f"references/{instance.sha256[:2]}/{filename}"


class ReferenceImage(models.Model):
    """An image a person gave us to edit from: stored once per content (sha256).

    Who may use it is decided by the signed tokens the forms carry (see
    playground/generations/references.py), not by this row: identical uploads by two people share
    one stored file.
    """

    sha256 = models.CharField(max_length=64, unique=True)
    file = models.FileField(upload_to=reference_upload_to, max_length=255)
    thumbnail = models.FileField(upload_to=reference_upload_to, max_length=255)
    format = models.CharField(max_length=10)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # EvoLink Files API copy (when references are hosted there): reused until it expires.
    files_api_url = models.URLField(max_length=500, blank=True)
    files_api_expires_at = models.DateTimeField(null=True, blank=True)
    # Who first uploaded it (their quota pays for it; None for results and old rows),
    # and when it was last uploaded: unused uploads are deleted a day after that.
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Whether `file` is our own re-encoded copy (every upload since it was introduced);
    # older rows are re-encoded before EvoLink is given them (references.ensure_ours).
    reencoded = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.format} {self.width}×{self.height})"

    @property
    def extension(self) -> str:
        return imageformats.BY_PILLOW[self.format].extension

    @property
    def content_type(self) -> str:
        return imageformats.BY_PILLOW[self.format].mime_type


class GenerationReference(models.Model):
    """The reference images of a job, in the order the person gave them."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="references")
    reference = models.ForeignKey(ReferenceImage, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()
    # The job whose result this reference was taken from ("Use as reference", "Edit
    # this"), if any: lineage, per image.
    source = models.ForeignKey(
        Generation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The mask painted on this reference (gpt-image-2 edits; one per job, on the first
    # reference). Shared by the jobs made from this one; deleted with the last of them.
    mask = models.ForeignKey(
        MaskImage, on_delete=models.PROTECT, null=True, blank=True, related_name="links"
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["generation", "position"], name="unique_reference_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.generation_id}#{self.position}"


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
