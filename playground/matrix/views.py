"""The matrix page (a run or a template, previewed before anything is sent), a run's
grid page, and the team's saved templates.

Thin function views, as in the studio: fetch (scoped to the team) → validate (the page
form, then every cell by its model's studio form) → act → render. Fragments are
partials of the page that owns them, named after the element they replace.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground import catalogue, ids, numbers
from playground.billing import paying
from playground.comments import threads
from playground.gallery import collections
from playground.gallery.favourites import starred_among
from playground.generations import budgets, references, waiting
from playground.generations.chips import chip
from playground.generations.models import State
from playground.generations.references import Attached
from playground.matrix import plan as planning
from playground.matrix.forms import MatrixForm
from playground.matrix.models import MatrixRun, PromptTemplate, RunKind
from playground.matrix.runs import RECENT_RUNS, create_run, grid_of, keep, live_stamp, runs_of
from playground.teams import access, availability
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership

MATRIX = "matrix/matrix.html"
RUN = "matrix/run.html"
# What the studio's "Matrix run…" carries over (the rest of its form stays behind).
FROM_STUDIO = ("prompt", "reference", "model", "quality", "size", "resolution", "n", "private")
FROM_STUDIO_LINEAGE = ("parent", "parent_relation")
ERROR_SLOTS = ("prompt", "template", "models", "qualities", "sizes", "resolution", "n")


@require_http_methods(["GET", "POST"])
def matrix(request: AuthedRequest, team: str) -> HttpResponse:
    membership = access.membership(request, team)
    access.require_generate(membership)
    if request.method == "GET":
        if "csrfmiddlewaretoken" in request.GET:
            # The studio's button without JavaScript sends its whole form: keep only what
            # a run uses, so no token is left in the address bar or the browser history.
            kept = [
                (k, v) for k in (*FROM_STUDIO, *FROM_STUDIO_LINEAGE) for v in request.GET.getlist(k)
            ]
            return redirect(f"{request.path}?{urlencode(kept)}")
        data = _data_from_get(request, membership)
        attached = references.from_tokens(data.getlist("reference"), request.user, membership.team)
        form = MatrixForm(data, team=membership.team)
        # Sizes the address names (or a run's) are the person's choice; the page's
        # default may follow the ticked models (static/js/matrix.js).
        chosen = bool(request.GET.getlist("sizes")) or "run" in request.GET
        return _page(
            request, membership, form, attached, show_errors=False, extra={"sizes_chosen": chosen}
        )

    attached = references.from_tokens(
        request.POST.getlist("reference"), request.user, membership.team
    )
    form = MatrixForm(request.POST, team=membership.team)
    plan = _plan(form, attached)
    action = request.POST.get("action", "preview")
    if action == "generate" and plan.ready:
        try:
            run = create_run(
                membership,
                token=form.cleaned_data.get("client_token") or uuid.uuid4(),
                kind=form.mode_value,
                text=form.text(),
                choices=_choices(form, plan),
                plan=plan,
            )
        except (budgets.OverBudget, availability.ModelOff, paying.NoPayer) as refusal:
            plan.add_error("__all__", str(refusal))  # nothing was made; nothing typed is lost
        else:
            return redirect("matrix_run", team=membership.team.slug, public_id=run.public_id)
    if action == "live" and request.htmx:
        return _live(request, membership, form, plan)
    return _page(request, membership, form, attached, plan=plan)


def _plan(form: MatrixForm, attached: list[Attached]) -> planning.Plan:
    form.is_valid()  # the plan says what is wrong, field by field
    errors = {name: [str(m) for m in messages_] for name, messages_ in form.errors.items()}
    return planning.make_plan(
        form.data,
        mode=form.mode_value,
        text=form.text(),
        models=form.cleaned("models"),
        qualities=form.cleaned("qualities"),
        sizes=form.cleaned("sizes"),
        references=attached,
        errors=errors,
    )


def _choices(form: MatrixForm, plan: planning.Plan) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "models": data["models"],
        "qualities": data["qualities"],
        "sizes": data["sizes"],
        "resolution": data.get("resolution") or "",
        "n": form.data.get("n") or "1",
        "private": bool(data.get("private")),
        "values": {v.name: v.values for v in plan.variables if v.in_template},
    }


def _budget_problem(membership: Membership, plan: planning.Plan, models: list[str]) -> str:
    """Whether a key can pay for each model ticked (said at once, before the prompt is
    written), then the budget check of Generate, said before it is pressed (nothing is
    locked here: Generate checks again, with the team locked)."""
    if problem := paying.preview_problem(membership, models):
        # Said once: a refused Generate already said it among the page's errors.
        refused = any(str(e).startswith(problem) for e in plan.errors.get("__all__", []))
        return "" if refused else problem
    if plan.errors or not plan.jobs:
        return ""
    try:
        budgets.check(membership, plan.jobs_total, jobs=len(plan.jobs))
    except budgets.OverBudget as refusal:
        return str(refusal)
    return ""


def _context(
    request: AuthedRequest,
    membership: Membership,
    form: MatrixForm,
    plan: planning.Plan,
    *,
    show_errors: bool = True,
) -> dict[str, Any]:
    mode = form.mode_value
    variables = (
        plan.variables
        if mode == RunKind.TEMPLATE
        else planning.variable_fields(str(form.data.get("template") or ""), form.data)
    )
    errors = plan.errors if show_errors else {}
    if not show_errors:
        for variable in variables:
            variable.errors = []
    return {
        "team": membership.team,
        "form": form,
        "mode": mode,
        "plan": plan,
        "errors": {name.replace("__all__", "page"): msgs for name, msgs in errors.items()},
        "error_slots": [(name, errors.get(name, [])) for name in ERROR_SLOTS],
        "variables": variables,
        # Something to fix before there is a grid to show (said next to its field).
        "has_problems": bool(errors)
        or (mode == RunKind.TEMPLATE and any(v.errors for v in variables)),
        "budget_problem": _budget_problem(membership, plan, form.cleaned("models")),
        "max_cells": planning.MAX_CELLS,
        "fixed_size_hint": _fixed_size_hint(),
    }


def _page(
    request: AuthedRequest,
    membership: Membership,
    form: MatrixForm,
    attached: list[Attached],
    *,
    plan: planning.Plan | None = None,
    show_errors: bool = True,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    plan = plan or _plan(form, attached)
    context = _context(request, membership, form, plan, show_errors=show_errors)
    context.update(
        attached=[chip(ref, request.user, membership.team) for ref in attached],
        templates=list(
            PromptTemplate.objects.filter(team=membership.team).select_related("updated_by")
        ),
        recent_runs=list(runs_of(request.user, membership.team)[:RECENT_RUNS]),
        size_makers=planning.makers_of_sizes(),
        sizes_chosen=True,
    )
    context.update(
        **(extra or {}),
    )
    return render(request, MATRIX, context)


def _live(
    request: AuthedRequest, membership: Membership, form: MatrixForm, plan: planning.Plan
) -> HttpResponse:
    """The preview, as the boxes are ticked: the grid, and every field's messages
    out of band. Empty text is not an error yet while the person is still typing."""
    field = "template" if form.mode_value == RunKind.TEMPLATE else "prompt"
    if not form.text():
        plan.errors.pop(field, None)
    context = _context(request, membership, form, plan)
    for variable in context["variables"]:
        if not variable.raw.strip() and variable.in_template:
            # A values field just made by typing its {variable}: not wrong yet, only empty.
            variable.errors = []
            context["has_problems"] = True
    shown = form.data.getlist("var_names")
    context["variables_changed"] = shown != [v.name for v in context["variables"]]
    return render(request, f"{MATRIX}#matrix-live", context)


def _data_from_get(request: AuthedRequest, membership: Membership) -> QueryDict:
    """The page's first values: from the studio ("Matrix run…"), a saved template, or
    an earlier run ("Run again…"); else one cell of the default model."""
    get = request.GET
    data = QueryDict(mutable=True)
    data["client_token"] = str(uuid.uuid4())
    data["mode"] = RunKind.MATRIX
    data["n"] = get.get("n") or "1"
    data["resolution"] = get.get("resolution") or ""
    for name in ("prompt", "private", *FROM_STUDIO_LINEAGE):
        if get.get(name):
            data[name] = get[name]
    data.setlist("reference", get.getlist("reference"))
    model = availability.model_or_default(membership.team, get.get("model"))
    spec = catalogue.MODELS[model or catalogue.DEFAULT_MODEL]
    data.setlist("models", get.getlist("models") or ([model] if model else []))
    quality = get.get("quality") or ""
    if quality not in spec.qualities:
        quality = spec.default_quality
    data.setlist("qualities", get.getlist("qualities") or [quality])
    data.setlist(
        "sizes",
        get.getlist("sizes")
        or planning.default_sizes(data.getlist("models"), _offered_size(spec, get.get("size", ""))),
    )
    if template_id := get.get("template", ""):
        pk = ids.parse(template_id) or 0
        saved = get_object_or_404(PromptTemplate, pk=pk, team=membership.team)
        data["mode"] = RunKind.TEMPLATE
        data["template"] = saved.text
        data["template_name"] = saved.name
        data.setlist("var_names", list(saved.values))
        for name, values in saved.values.items():
            data[f"values-{name}"] = "\n".join(values)
    if "run" in get:
        _from_run(data, request, membership, get["run"])
    return data


def _from_run(data: QueryDict, request: AuthedRequest, membership: Membership, run_id: str) -> None:
    """ "Run again…": the run's settings, when this person may see the run; 404 for a
    colleague's "Only me" run as for one that does not exist (nothing of it is read)."""
    try:
        public_id = uuid.UUID(run_id)
    except ValueError:
        raise Http404 from None
    run = get_object_or_404(
        MatrixRun.objects.visible_to(request.user, membership.team), public_id=public_id
    )
    choices = run.choices
    for name in ("models", "qualities", "sizes"):
        data.setlist(name, choices.get(name) or data.getlist(name))
    data["resolution"] = choices.get("resolution") or ""
    data["n"] = str(choices.get("n") or "1")
    if choices.get("private"):
        data["private"] = "on"
    data["mode"] = run.kind
    data["template" if run.kind == RunKind.TEMPLATE else "prompt"] = run.text
    data.setlist("var_names", list(choices.get("values") or {}))
    for name, values in (choices.get("values") or {}).items():
        data[f"values-{name}"] = "\n".join(values)


def _offered_size(spec: catalogue.ModelSpec, size: str) -> str:
    """The studio's size as a run offers it: "1024x1536" is the ratio 2:3."""
    offered = dict(planning.size_choices())
    if size in offered:
        return size
    pixels = spec.size_pixels.get(size)
    for value in offered:
        if pixels and spec.size_pixels.get(value) == pixels:
            return value
    return spec.default_size if spec.default_size in offered else next(iter(offered))


def _fixed_size_hint() -> str:
    """Which sizes the fixed-size models make, from the catalogue."""
    parts = []
    for spec in catalogue.MODELS.values():
        if spec.is_flexible:
            continue
        made = [s for s, _label in planning.size_choices() if planning.accepts(spec, s)]
        parts.append(f"{spec.label}: {', '.join(made)}")
    return _(
        "Each model makes only the sizes it accepts (%(sizes)s); a cell it cannot make is "
        "shown with the reason and not sent."
    ) % {"sizes": "; ".join(parts)}


# --- A run's page -------------------------------------------------------------------


def _run(request: AuthedRequest, team: str, public_id: uuid.UUID) -> tuple[Membership, MatrixRun]:
    membership = access.membership(request, team)
    run = get_object_or_404(
        MatrixRun.objects.visible_to(request.user, membership.team).select_related(
            "team", "created_by", "collection"
        ),
        public_id=public_id,
    )
    return membership, run


@require_GET
def run_page(request: AuthedRequest, team: str, public_id: uuid.UUID) -> HttpResponse:
    """The run's grid, filling in as its jobs finish. The live check sends the stamp it
    was drawn at: while no job of the team changed the answer is an empty 204."""
    membership, run = _run(request, team, public_id)
    since = request.GET.get("since")
    if since and since == live_stamp(run):
        return HttpResponse(status=204)
    grid = grid_of(run, request.user)
    image_ids = [
        image.pk for row in grid.rows for c in row.cells if c.job for image in c.job.images.all()
    ]
    context = {
        "team": membership.team,
        "membership": membership,
        "run": run,
        "grid": grid,
        "favourite_ids": starred_among(request.user, image_ids),
        "comment_counts": threads.counts_for(
            c.job.pk for row in grid.rows for c in row.cells if c.job
        ),
        # "Cancel waiting cells": for the run's maker or a team admin, while some wait.
        "waiting_cells": sum(
            1 for row in grid.rows for c in row.cells if c.job and c.job.state == State.QUEUED
        )
        if membership.can_generate and (run.created_by_id == request.user.pk or membership.is_admin)
        else 0,
        "live_url": f"{reverse('matrix_run', args=[team, run.public_id])}?"
        f"{urlencode({'since': grid.stamp})}",
    }
    if request.htmx:
        return render(request, f"{RUN}#run-grid", context)
    # The multi-select bar and the lightbox's "Add to collection" list the collections.
    return render(request, RUN, {**context, **collections.picker_context(membership)})


@require_POST
def run_keep(request: AuthedRequest, team: str, public_id: uuid.UUID) -> HttpResponse:
    """Keep as a collection: made once, named after the run; pressed again, it adds the
    images that arrived since and opens it."""
    membership, run = _run(request, team, public_id)
    access.require_generate(membership)
    had = run.collection_id is not None
    collection, added = keep(run, membership)
    if not had:
        messages.success(
            request,
            _("Kept as the collection “%(name)s” (%(count)d images).")
            % {"name": collection.name, "count": added},
        )
    elif added:
        messages.success(
            request,
            _("%(count)d new images added to “%(name)s”.")
            % {"name": collection.name, "count": added},
        )
    return redirect("collection", team=membership.team.slug, collection_id=collection.pk)


@require_http_methods(["GET", "POST"])
def run_cancel(request: AuthedRequest, team: str, public_id: uuid.UUID) -> HttpResponse:
    """ "Cancel waiting cells": the run's jobs that nothing has sent yet, for the run's
    maker or a team admin; the cells already sent run on. GET asks to confirm."""
    membership, run = _run(request, team, public_id)
    access.require_generate(membership)
    if run.created_by_id != request.user.pk and not membership.is_admin:
        raise PermissionDenied
    cells = waiting.waiting_among(
        run.cells.filter(generation__isnull=False).values_list("generation_id", flat=True)
    )
    run_url = reverse("matrix_run", args=[membership.team.slug, run.public_id])
    if request.method == "GET":
        return render(
            request,
            "studio/waiting_cancel.html",
            {
                "team": membership.team,
                "count": cells.count(),
                "run": run,
                "action": request.path,
                "back": run_url,
            },
        )
    messages.success(
        request, waiting.cancelled_sentence(waiting.cancel_all(cells, by=request.user))
    )
    return redirect(run_url)


# --- Saved templates ----------------------------------------------------------------


@require_POST
def template_save(request: AuthedRequest, team: str) -> HttpResponse:
    """Save the page's template for the team. A name already taken is only replaced
    when the person confirmed it (the "Overwrite" button carries that template's id)."""
    membership = access.membership(request, team)
    access.require_generate(membership)
    attached = references.from_tokens(
        request.POST.getlist("reference"), request.user, membership.team
    )
    form = MatrixForm(request.POST, team=membership.team)
    form.is_valid()
    text = str(request.POST.get("template") or "").strip()
    name = " ".join(str(request.POST.get("template_name") or "").split())
    checked = planning.Plan(variables=planning.variable_fields(text, request.POST))
    planning.check_variables(checked, text)
    problems: dict[str, list[str]] = dict(checked.errors)
    confirm: PromptTemplate | None = None
    if not name:
        problems["template_name"] = [_("Name the template to save it.")]
    elif len(name) > 120:
        problems["template_name"] = [
            _("A template's name has at most 120 characters (this one has %(n)s).")
            % {"n": numbers.grouped(len(name))}
        ]
    existing = PromptTemplate.objects.filter(team=membership.team, name__iexact=name).first()
    if existing and request.POST.get("overwrite") != str(existing.pk) and name:
        confirm = existing
        problems["template_name"] = [
            _(
                "The team already has a template called “%(name)s” (saved by %(who)s). "
                "Press “Overwrite” to replace it, or choose another name."
            )
            % {
                "name": existing.name,
                "who": existing.updated_by.get_username() if existing.updated_by else "?",
            }
        ]
    if problems or any(v.errors for v in checked.variables):
        form.data = form.data.copy()
        form.data["mode"] = RunKind.TEMPLATE
        plan = _plan(form, attached)
        for field, messages_ in problems.items():
            for message in messages_:
                plan.add_error(field, message)
        plan.variables = checked.variables
        return _page(
            request,
            membership,
            form,
            attached,
            plan=plan,
            extra={"confirm_overwrite": confirm, "save_open": True},
        )
    values = {v.name: v.values for v in checked.variables}
    saved = _store_template(membership, existing, name, text, values)
    messages.success(request, _("Template “%(name)s” saved for the team.") % {"name": saved.name})
    url = reverse("matrix", kwargs={"team": membership.team.slug})
    return redirect(f"{url}?{urlencode({'template': saved.pk})}")


def _store_template(
    membership: Membership,
    existing: PromptTemplate | None,
    name: str,
    text: str,
    values: dict[str, list[str]],
) -> PromptTemplate:
    user = membership.user
    if existing is not None:
        existing.name, existing.text, existing.values = name, text, values
        existing.updated_by, existing.updated_at = user, timezone.now()
        existing.save()
        return existing
    try:
        with transaction.atomic():
            return PromptTemplate.objects.create(
                team=membership.team,
                name=name,
                text=text,
                values=values,
                created_by=user,
                updated_by=user,
            )
    except IntegrityError:
        # A colleague saved the same name a moment ago: the later save wins, as an
        # overwrite confirmed a moment later would.
        found = PromptTemplate.objects.get(team=membership.team, name=name)
        return _store_template(membership, found, name, text, values)


@require_POST
def template_delete(request: AuthedRequest, team: str, template_id: int) -> HttpResponse:
    membership = access.membership(request, team)
    access.require_generate(membership)
    saved = get_object_or_404(PromptTemplate, pk=template_id, team=membership.team)
    saved.delete()
    messages.success(request, _("Template “%(name)s” deleted.") % {"name": saved.name})
    return redirect("matrix", team=membership.team.slug)
