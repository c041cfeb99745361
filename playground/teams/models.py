"""Teams, who belongs to them with which role, invitations, and each person's current team.

A person may belong to several teams. Everything people make (jobs, their images,
later keys, budgets and collections) belongs to a team; what a person may see or do
there follows from their `Membership.role` (see playground/teams/access.py).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
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
    def of(self, user: Any) -> TeamQuerySet:
        """The teams a person belongs to."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("address"), max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Optional: what the team may spend in a calendar month, in credits (empty: no
    # limit). Checked before anything is sent (playground/billing/budgets.py).
    monthly_budget_credits = models.DecimalField(
        _("monthly budget (credits)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: no limit."),
        validators=[MinValueValidator(0)],
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def create(cls, name: str, *, admin: Any = None) -> Team:
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


class Invitation(models.Model):
    """A single-use link that lets whoever opens it join a team with a role.

    Only the token's sha256 is stored: the link is shown once, to the admin who made
    it, and a copy of the database cannot be turned into working links.
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

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.team} as {self.role} (until {self.expires_at:%Y-%m-%d})"

    @classmethod
    def issue(cls, team: Team, role: str, created_by: Any) -> tuple[Invitation, str]:
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
    def find(cls, token: str) -> Invitation | None:
        return cls.objects.select_related("team").filter(token_hash=_digest(token)).first()

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > timezone.now()

    def accept(self, user: Any) -> Membership | None:
        """Join the team; None when the link was used, revoked or expired meanwhile.

        A person who already belongs to the team keeps their role and the link stays
        unused, so it can still bring in the person it was meant for.
        """
        existing = Membership.objects.filter(team=self.team, user=user).first()
        if existing:
            return existing
        with transaction.atomic():
            # Compare-and-set: of two people opening the same link at once, one joins.
            claimed = Invitation.objects.filter(
                pk=self.pk, used_at=None, revoked_at=None, expires_at__gt=timezone.now()
            ).update(used_at=timezone.now(), used_by=user)
            if not claimed:
                return None
            return Membership.objects.create(team=self.team, user=user, role=self.role)


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
