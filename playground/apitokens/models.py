"""Personal API tokens: a member's key for scripts and tools, acting as that member in
one team, with their role, under the same budgets, caps, limits and history.

A token reads `pgk_<prefix>_<secret>`. Only its prefix (to tell tokens apart on a page)
and the sha256 of the whole value are stored: the value exists in clear once, in the
answer that creates it, and a copy of the database cannot be turned into working
tokens. A sha256 rather than a slow password hash is enough because the secret is 256
random bits, not something a person chose (so nothing can be guessed from the digest).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from playground.teams.models import Membership, Team

SCHEME = "pgk"
DEFAULT_DAYS = 90
MAX_DAYS = 365
# Hex, so that the prefix never holds the "_" that separates the parts.
PREFIX_BYTES = 5
SECRET_BYTES = 32


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def parse(value: str) -> tuple[str, str] | None:
    """(prefix, whole value) of something shaped like a token, else None."""
    scheme, _sep, rest = value.partition("_")
    prefix, sep, secret = rest.partition("_")
    if scheme != SCHEME or not sep or not secret or len(prefix) != PREFIX_BYTES * 2:
        return None
    return prefix, value


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at=None, expires_at__gt=timezone.now())

    def visible_to(self, membership: Membership) -> ApiTokenQuerySet:
        """A team's admins see every token of the team (never a value: none is
        stored); anyone else sees their own."""
        tokens = self.filter(team_id=membership.team_id)
        if not membership.is_admin:
            tokens = tokens.filter(user_id=membership.user_id)
        return tokens


class ApiToken(models.Model):
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("member"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=PREFIX_BYTES * 2, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    # The jobs the token makes are "Only me" unless a request says otherwise.
    only_me_default = models.BooleanField(_("only me by default"), default=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.shown})"

    @classmethod
    def issue(
        cls,
        membership: Membership,
        *,
        name: str,
        days: int = DEFAULT_DAYS,
        only_me_default: bool = False,
    ) -> tuple[ApiToken, str]:
        """A new token of this member in this team, and its value: the only time the
        value exists in clear. Never store, log or render it anywhere but the answer
        that hands it over."""
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be 1..{MAX_DAYS}")
        prefix = secrets.token_hex(PREFIX_BYTES)
        value = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        token = cls.objects.create(
            team_id=membership.team_id,
            user_id=membership.user_id,
            name=name,
            prefix=prefix,
            digest=digest(value),
            expires_at=timezone.now() + timedelta(days=days),
            only_me_default=only_me_default,
        )
        return token, value

    @property
    def shown(self) -> str:
        """All that is ever shown of a token once made."""
        return f"{SCHEME}_{self.prefix}_…"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return not self.is_revoked and not self.is_expired

    def membership(self) -> Membership | None:
        """The membership the token acts with (its role is read at each request)."""
        return (
            Membership.objects.select_related("team", "user")
            .filter(team_id=self.team_id, user_id=self.user_id)
            .first()
        )

    def revoke(self, *, by: User | None = None) -> bool:
        """Stop the token at once; False if it was revoked already (compare-and-set)."""
        now = timezone.now()
        done = ApiToken.objects.filter(pk=self.pk, revoked_at=None).update(
            revoked_at=now, revoked_by=by
        )
        if done:
            self.revoked_at, self.revoked_by = now, by
        return bool(done)

    def mark_used(self) -> None:
        """Remember when the token was last used, writing at most once a minute."""
        now = timezone.now()
        ApiToken.objects.filter(pk=self.pk).filter(
            models.Q(last_used_at=None) | models.Q(last_used_at__lt=now - timedelta(minutes=1))
        ).update(last_used_at=now)
