"""Teams, who belongs to them with which role, invitations, and each person's current team.

A person may belong to several teams. Everything people make (jobs, their images,
later keys, budgets and collections) belongs to a team; what a person may see or do
there follows from their `Membership.role` (see playground/teams/access.py).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.validators import MinValueValidator
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

INVITATION_LIFETIME = timedelta(days=7)


class Role(models.TextChoices):
    # admin: manages members (and, later, the team's keys and budget), and generates.
    ADMIN = "admin", _("Admin")
    # member: generates, and manages their own jobs.
    MEMBER = "member", _("Member")
    # viewer: sees and downloads, never generates, deletes or changes anything.
    VIEWER = "viewer", _("Viewer")


class TeamQuerySet(models.QuerySet["Team"]):
    def of(self, user: User) -> TeamQuerySet:
        """The teams a person belongs to."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("address"), max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Optional: what the team may spend in a calendar month, in credits (empty: no
    # limit). Checked before anything is sent (playground/generations/budgets.py).
    monthly_budget_credits = models.DecimalField(
        _("monthly budget (credits)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(0)],
    )
    # Optional per-member limits (empty: no limit), each applying to every member of the
    # team alone: beyond it a member's queued jobs wait, visibly, and are never refused
    # (playground/generations/fair_order.py). So one person's matrix run cannot take
    # every create the team's keys can make.
    member_jobs_in_flight_limit = models.PositiveIntegerField(
        _("jobs in flight per member"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1)],
    )
    member_images_per_hour_limit = models.PositiveIntegerField(
        _("images per hour per member"),
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(1)],
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def create(cls, name: str, *, admin: User | None = None) -> Team:
        """A team with a unique address made from its name, and its first admin."""
        base = slugify(name)[:50] or "team"
        slug, suffix = base, 1
        while True:
            try:
                with transaction.atomic():
                    team = cls.objects.create(name=name, slug=slug)
                break
            except IntegrityError:
                suffix += 1
                slug = f"{base}-{suffix}"
        if admin is not None:
            Membership.objects.create(team=team, user=admin, role=Role.ADMIN)
        return team

    def admins(self) -> models.QuerySet[Membership]:
        return self.memberships.filter(role=Role.ADMIN)


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    # Optional: what this person may spend in the team in a calendar month.
    monthly_cap_credits = models.DecimalField(
        _("monthly cap (credits)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: no cap beyond the team's budget."),
        validators=[MinValueValidator(0)],
    )
    # The reviewer right: may approve or request changes on the team's images (admins
    # always may). Any role may hold it: an art director can be a viewer.
    reviewer = models.BooleanField(_("reviewer"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_team"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_generate(self) -> bool:
        return self.role in (Role.ADMIN, Role.MEMBER)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_review(self) -> bool:
        """May approve or request changes on the team's images."""
        return self.is_admin or self.reviewer

    def is_last_admin(self) -> bool:
        return self.is_admin and not self.team.admins().exclude(pk=self.pk).exists()

    def set_role(self, role: str) -> bool:
        """Change the role; False (and nothing changed) if the team would lose its
        last admin."""
        with transaction.atomic():
            if role != Role.ADMIN and self._locked_admins() == [self.pk]:
                return False
            Membership.objects.filter(pk=self.pk).update(role=role)
        self.role = role
        return True

    def leave(self) -> bool:
        """Remove this person from the team; False if they are its last admin. Their
        jobs stay with the team."""
        with transaction.atomic():
            if self._locked_admins() == [self.pk]:
                return False
            Membership.objects.filter(pk=self.pk).delete()
        return True

    def _locked_admins(self) -> list[int]:
        # Lock the team's admin rows so that two admins demoting or removing each
        # other at the same moment are served one after the other (on PostgreSQL;
        # SQLite transactions here take the write lock up front anyway).
        return list(
            Membership.objects.select_for_update()
            .filter(team_id=self.team_id, role=Role.ADMIN)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open(self) -> InvitationQuerySet:
        return self.filter(
            used_at=None, revoked_at=None, declined_at=None, expires_at__gt=timezone.now()
        )

    def pending_for(self, user: User) -> InvitationQuerySet:
        """The invitations addressed to this person that they may still accept."""
        if not user.is_authenticated:
            return self.none()
        return self.open().filter(invitee_id=user.pk)


class Invitation(models.Model):
    """Either a single-use link that lets whoever opens it join a team with a role, or
    an invitation addressed to a username, which that person accepts (or declines) on
    their invitations page.

    Only the token's sha256 is stored: the link is shown once, to the admin who made
    it, and a copy of the database cannot be turned into working links. An invitation
    by username has a token nobody ever sees; it is accepted only by its invitee.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # By username: the name the admin typed, and its person when one has it (none when
    # nobody has it, which the admin is never told: the answer is the same either way).
    invitee_name = models.CharField(max_length=150, blank=True, default="")
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="team_invitations",
    )
    declined_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.team} as {self.role} (until {self.expires_at:%Y-%m-%d})"

    @classmethod
    def issue(cls, team: Team, role: str, created_by: User) -> tuple[Invitation, str]:
        """A new invitation and its token (the only time the token exists in clear)."""
        token = secrets.token_urlsafe(24)
        invitation = cls.objects.create(
            team=team,
            role=role,
            token_hash=_digest(token),
            created_by=created_by,
            expires_at=timezone.now() + INVITATION_LIFETIME,
        )
        return invitation, token

    @classmethod
    def address(cls, team: Team, role: str, created_by: User, username: str) -> Invitation:
        """An invitation for whoever has `username` (an active account), to accept on
        their invitations page. Asking again while one is open renews that one."""
        from django.contrib.auth import get_user_model

        invitee = get_user_model().objects.filter(username=username, is_active=True).first()
        with transaction.atomic():
            found = (
                cls.objects.open()
                .select_for_update()
                .filter(team=team, invitee_name=username)
                .first()
            )
            if found is not None:
                found.role, found.created_by = role, created_by
                found.expires_at = timezone.now() + INVITATION_LIFETIME
                found.save(update_fields=["role", "created_by", "expires_at"])
                return found
            return cls.objects.create(
                team=team,
                role=role,
                # A token nobody sees: this invitation is not a link.
                token_hash=_digest(secrets.token_urlsafe(24)),
                created_by=created_by,
                expires_at=timezone.now() + INVITATION_LIFETIME,
                invitee_name=username,
                invitee=invitee,
            )

    @classmethod
    def find(cls, token: str) -> Invitation | None:
        """The link invitation with this token (never one addressed to a username)."""
        return (
            cls.objects.select_related("team")
            .filter(token_hash=_digest(token), invitee_name="")
            .first()
        )

    @property
    def is_usable(self) -> bool:
        return (
            self.used_at is None
            and self.revoked_at is None
            and self.declined_at is None
            and self.expires_at > timezone.now()
        )

    def accept(self, user: User) -> Membership | None:
        """Join the team; None when the invitation was used, revoked, declined or
        expired meanwhile, or is addressed to someone else.

        A person who already belongs to the team keeps their role; a link then stays
        unused, so it can still bring in the person it was meant for.
        """
        if self.invitee_name and self.invitee_id != user.pk:
            return None
        existing = Membership.objects.filter(team=self.team, user=user).first()
        if existing and not self.invitee_name:
            return existing
        with transaction.atomic():
            # Compare-and-set: of two people opening the same link at once, one joins.
            claimed = (
                Invitation.objects.open()
                .filter(pk=self.pk)
                .update(used_at=timezone.now(), used_by=user)
            )
            if not claimed:
                return None
            if existing:
                return existing
            return Membership.objects.create(team=self.team, user=user, role=self.role)

    def decline(self, user: User) -> bool:
        """Say no to an invitation addressed to this person (compare-and-set)."""
        return bool(
            Invitation.objects.open()
            .filter(pk=self.pk, invitee_id=user.pk)
            .update(declined_at=timezone.now())
        )


class Profile(models.Model):
    """Per-person preferences: the team they last worked in, how the history shows,
    the language of the pages."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="profile"
    )
    current_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True)
    # How the history shows jobs: cards with their details, or a compact grid of images.
    history_layout = models.CharField(
        max_length=4, choices=[("list", _("List")), ("grid", _("Grid"))], default="list"
    )
    # The language of the pages; blank follows the browser (Accept-Language), else
    # English (see playground/teams/languages.py).
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, blank=True, default=""
    )

    def __str__(self) -> str:
        return f"{self.user} → {self.current_team}"


class ModelSwitch(models.Model):
    """A superuser's word on a model, for every team: offered or not (without a row,
    the catalogue decides: a withdrawn model is off)."""

    model = models.CharField(_("model"), max_length=40, unique=True)
    enabled = models.BooleanField(_("offered"), default=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.model}: {'on' if self.enabled else 'off'}"


class TeamModelOff(models.Model):
    """A team admin switched a model off for their team."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="models_off")
    model = models.CharField(_("model"), max_length=40)
    switched_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    switched_off_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "model"], name="one_switch_per_team_model")
        ]

    def __str__(self) -> str:
        return f"{self.team_id}: {self.model} off"


class ModelNotice(models.Model):
    """The team's admins were told EvoLink refused a model as unavailable: once only."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "model"], name="one_notice_per_team_model")
        ]

    def __str__(self) -> str:
        return f"{self.team_id}: {self.model} unavailable"
