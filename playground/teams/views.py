"""A team's own page, where its admins manage it in the app, and invitation links.

Everyone in the team sees who is in it; only its admins add people, change roles,
remove members and make invitation links (others get 403, strangers 404). A team
always keeps at least one admin. Removing someone keeps their jobs with the team.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import i18n
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.audit.log import diff, record
from playground.audit.models import Action
from playground.generations import budgets
from playground.teams import access, languages
from playground.teams.access import AuthedRequest
from playground.teams.accounts import SignUpForm
from playground.teams.forms import (
    AddMemberForm,
    BudgetForm,
    InviteForm,
    MemberForm,
    MemberLimitsForm,
)
from playground.teams.models import Invitation, Membership, Role, Team

PAGE = "teams/team.html"
LAST_ADMIN = gettext_lazy("A team needs at least one admin: make someone else an admin first.")


def _page(request: AuthedRequest, membership: Membership, **extra: Any) -> HttpResponse:
    team = membership.team
    context: dict[str, Any] = {
        "team": team,
        "membership": membership,
        "members": team.memberships.select_related("user")
        # The group mapping (playground.sso, above this app: named, not imported) sets the
        # role of these at every sign-in, so a change made here does not last.
        .annotate(
            by_groups=ExpressionWrapper(Q(sso_mapping__isnull=False), output_field=BooleanField())
        )
        .order_by("user__username"),
        "roles": Role.choices,
        "add_form": AddMemberForm(team=team),
        "invite_form": InviteForm(),
        "budget_form": BudgetForm(instance=team),
        "limits_form": MemberLimitsForm(instance=team),
        "standing": budgets.standing(team),
        **extra,
    }
    if membership.is_admin:
        context["invitations"] = team.invitations.open().select_related("created_by")
    return render(request, PAGE, context, status=400 if extra.get("failed") else 200)


@require_GET
def team_page(request: AuthedRequest, team: str) -> HttpResponse:
    membership = access.membership(request, team)
    return _page(request, membership)


@require_POST
def member_add(request: AuthedRequest, team: str) -> HttpResponse:
    """Invite a person who has an account, by username: they join only when they accept
    (on their invitations page). The answer is the same whether or not anyone has the
    name, so the form cannot be used to find out which usernames exist."""
    membership = access.membership(request, team)
    access.require_admin(membership)
    form = AddMemberForm(request.POST, team=membership.team)
    if not form.is_valid():
        return _page(request, membership, add_form=form, failed=True)
    with transaction.atomic():
        invitation = Invitation.address(
            membership.team, form.cleaned_data["role"], request.user, form.cleaned_data["username"]
        )
        record(
            Action.MEMBER_INVITED,
            team=membership.team,
            actor=request.user,
            request=request,
            target=invitation.invitee_name,
            changes={"role": [None, invitation.role]},
        )
    messages.success(
        request,
        _(
            "Invitation sent to “%(name)s” as %(role)s. If someone has that username, they "
            "will see it when they sign in, and join once they accept (within 7 days)."
        )
        % {"name": invitation.invitee_name, "role": invitation.get_role_display()},
    )
    return redirect("team", team=team)


def _other(membership: Membership, member_id: int) -> Membership:
    return get_object_or_404(membership.team.memberships.select_related("user"), pk=member_id)


@require_POST
def member_role(request: AuthedRequest, team: str, member_id: int) -> HttpResponse:
    membership = access.membership(request, team)
    access.require_admin(membership)
    other = _other(membership, member_id)
    form = MemberForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Choose a role (admin, member or viewer) and a cap of 0 credits or more.")
        )
        return redirect("team", team=team)
    role, cap = form.cleaned_data["role"], form.cleaned_data["monthly_cap_credits"]
    reviewer = form.cleaned_data["reviewer"]
    before = {
        "role": other.role,
        "monthly_cap_credits": other.monthly_cap_credits,
        "reviewer": other.reviewer,
    }
    with transaction.atomic():
        if not other.set_role(role):
            messages.error(request, LAST_ADMIN)
            return redirect("team", team=team)
        Membership.objects.filter(pk=other.pk).update(monthly_cap_credits=cap, reviewer=reviewer)
        changed = diff(before, {"role": role, "monthly_cap_credits": cap, "reviewer": reviewer})
        name = other.user.get_username()
        for field, action in (
            ("role", Action.ROLE_CHANGED),
            # The reviewer right is a right like a role: it says what someone may decide.
            ("reviewer", Action.ROLE_CHANGED),
            ("monthly_cap_credits", Action.CAP_CHANGED),
        ):
            if field in changed:
                record(
                    action,
                    team=membership.team,
                    actor=request.user,
                    request=request,
                    target=name,
                    changes={field: changed[field]},
                )
    messages.success(
        request,
        _("%(name)s is now %(role)s.")
        % {"name": other.user.get_username(), "role": Role(role).label},
    )
    return redirect("team", team=team)


@require_POST
def team_budget(request: AuthedRequest, team: str) -> HttpResponse:
    """The team's monthly budget in credits (empty: none)."""
    membership = access.membership(request, team)
    access.require_admin(membership)
    before = {"monthly_budget_credits": membership.team.monthly_budget_credits}
    form = BudgetForm(request.POST, instance=membership.team)
    if not form.is_valid():
        return _page(request, membership, budget_form=form, failed=True)
    with transaction.atomic():
        saved = form.save()
        changes = diff(before, {"monthly_budget_credits": saved.monthly_budget_credits})
        if changes:
            record(
                Action.BUDGET_CHANGED,
                team=saved,
                actor=request.user,
                request=request,
                target=saved.name,
                changes=changes,
            )
    messages.success(request, _("The monthly budget was saved."))
    return redirect("team", team=team)


def _limits(team: Team) -> dict[str, int | None]:
    return {
        "member_jobs_in_flight_limit": team.member_jobs_in_flight_limit,
        "member_images_per_hour_limit": team.member_images_per_hour_limit,
    }


@require_POST
def team_limits(request: AuthedRequest, team: str) -> HttpResponse:
    """The per-member limits (empty: none): beyond them a member's jobs wait their turn,
    saying why in the studio (generations/fair_order.py)."""
    membership = access.membership(request, team)
    access.require_admin(membership)
    before = _limits(membership.team)
    form = MemberLimitsForm(request.POST, instance=membership.team)
    if not form.is_valid():
        return _page(request, membership, limits_form=form, failed=True)
    with transaction.atomic():
        saved = form.save()
        changes = diff(before, _limits(saved))
        if changes:
            record(
                Action.LIMITS_CHANGED,
                team=saved,
                actor=request.user,
                request=request,
                target=saved.name,
                changes=changes,
            )
    messages.success(request, _("The per-member limits were saved."))
    return redirect("team", team=team)


@require_POST
def member_remove(request: AuthedRequest, team: str, member_id: int) -> HttpResponse:
    """Remove someone from the team; the jobs they made stay with the team."""
    membership = access.membership(request, team)
    access.require_admin(membership)
    other = _other(membership, member_id)
    with transaction.atomic():
        if not other.leave():
            messages.error(request, LAST_ADMIN)
            return redirect("team", team=team)
        record(
            Action.MEMBER_REMOVED,
            team=membership.team,
            actor=request.user,
            request=request,
            target=other.user.get_username(),
            changes={"role": [other.role, None]},
        )
    leaving = other.pk == membership.pk
    messages.success(
        request, _("%(name)s was removed from the team.") % {"name": other.user.get_username()}
    )
    if leaving:
        return redirect("home")
    return redirect("team", team=team)


@require_POST
def invitation_create(request: AuthedRequest, team: str) -> HttpResponse:
    """A single-use link that expires; shown once, here, and never stored in clear."""
    membership = access.membership(request, team)
    access.require_admin(membership)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _page(request, membership, invite_form=form, failed=True)
    with transaction.atomic():
        # The token is shown once, here; the log says a link was made, never the link.
        invitation, token = Invitation.issue(
            membership.team, form.cleaned_data["role"], request.user
        )
        record(
            Action.MEMBER_INVITED,
            team=membership.team,
            actor=request.user,
            request=request,
            # No target: a link names no one (the audit page says "an invitation link").
            changes={"role": [None, invitation.role]},
        )
    link = request.build_absolute_uri(reverse("invitation", kwargs={"token": token}))
    return _page(request, membership, new_link=link, new_invitation=invitation)


@require_POST
def invitation_revoke(request: AuthedRequest, team: str, invitation_id: int) -> HttpResponse:
    membership = access.membership(request, team)
    access.require_admin(membership)
    invitation = get_object_or_404(membership.team.invitations, pk=invitation_id)
    with transaction.atomic():
        revoked = Invitation.objects.filter(pk=invitation.pk, used_at=None, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        if revoked:
            record(
                Action.INVITATION_REVOKED,
                team=membership.team,
                actor=request.user,
                request=request,
                target=invitation.invitee_name,
                changes={"role": [invitation.role, None]},
            )
    messages.success(request, _("The invitation link no longer works."))
    return redirect("team", team=team)


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Open an invitation: sign in or create an account, then join the team."""
    found = Invitation.find(token)
    if found is None:
        return render(request, "teams/invitation.html", {"state": "unknown"}, status=404)
    if not found.is_usable:
        already = request.user.is_authenticated and found.used_by_id == request.user.pk
        if already:
            return redirect("studio", team=found.team.slug)
        return render(request, "teams/invitation.html", {"state": "spent"}, status=410)
    signup = SignUpForm()
    if request.method == "POST":
        # Signed in, the person is a User; otherwise Django's AnonymousUser.
        person = request.user if isinstance(request.user, User) else None
        if person is None:
            signup = SignUpForm(request.POST)
            if not signup.is_valid():
                return render(
                    request,
                    "teams/invitation.html",
                    {"state": "open", "invitation": found, "signup": signup},
                    status=400,
                )
            with transaction.atomic():
                person = signup.save()
                joined = _accept(request, person, found)
                if joined is None:
                    transaction.set_rollback(True)
            if joined is None:
                return render(request, "teams/invitation.html", {"state": "spent"}, status=410)
            login(request, person, backend="django.contrib.auth.backends.ModelBackend")
        else:
            joined = _accept(request, person, found)
            if joined is None:
                return render(request, "teams/invitation.html", {"state": "spent"}, status=410)
        access.remember(person, found.team)
        messages.success(request, _("Welcome to %(team)s.") % {"team": found.team.name})
        return redirect("studio", team=found.team.slug)
    return render(
        request, "teams/invitation.html", {"state": "open", "invitation": found, "signup": signup}
    )


def _accept(request: HttpRequest, person: User, found: Invitation) -> Membership | None:
    """Accept an invitation, and audit the join in the same transaction (not when the
    person already belonged to the team: accept() then changes nothing)."""
    with transaction.atomic():
        was_member = Membership.objects.filter(team=found.team, user=person).exists()
        joined = found.accept(person)
        if joined is not None and not was_member:
            record(
                Action.MEMBER_ADDED,
                team=found.team,
                actor=person,
                request=request,
                target=person.get_username(),
                changes={"role": [None, joined.role]},
            )
    return joined


# --- A person's own invitations (addressed to their username) ------------------------


@require_GET
def my_invitations(request: AuthedRequest) -> HttpResponse:
    pending = (
        Invitation.objects.pending_for(request.user)
        .select_related("team", "created_by")
        .order_by("-created_at")
    )
    return render(request, "teams/invitations.html", {"pending": pending})


def _mine(request: AuthedRequest, invitation_id: int) -> Invitation:
    # Someone else's invitation, or one no longer open: 404, nothing confirmed.
    return get_object_or_404(
        Invitation.objects.pending_for(request.user).select_related("team"), pk=invitation_id
    )


@require_POST
def invitation_accept(request: AuthedRequest, invitation_id: int) -> HttpResponse:
    found = _mine(request, invitation_id)
    if _accept(request, request.user, found) is None:
        messages.error(request, _("This invitation is no longer valid."))
        return redirect("my_invitations")
    access.remember(request.user, found.team)
    messages.success(request, _("Welcome to %(team)s.") % {"team": found.team.name})
    return redirect("studio", team=found.team.slug)


@require_POST
def invitation_decline(request: AuthedRequest, invitation_id: int) -> HttpResponse:
    found = _mine(request, invitation_id)
    if found.decline(request.user):
        messages.success(
            request, _("You declined the invitation to %(team)s.") % {"team": found.team.name}
        )
    return redirect("my_invitations")


@login_not_required
@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """The header's language menu: Django's set_language (the language cookie, back to
    a safe `next`), and for a signed-in person their profile too, so the choice follows
    them to other devices and wins over any browser's."""
    response = i18n.set_language(request)
    if isinstance(request.user, User):  # signed in
        languages.remember(request, request.user, request.POST.get("language", ""))
    return response
