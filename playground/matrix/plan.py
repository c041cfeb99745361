"""What a matrix run or a prompt template would make: the grid of jobs, before anything
is sent.

Every cell is one job, checked by its model's own studio form (`form_for(model)`), so
every documented limit holds for it exactly as in the studio; its estimate is the
studio's (`estimate_of`). Nothing here writes to the database.

The grid: each ticked setting with more than one value is an axis (the template's
variables first, then model, size, quality). The last such axis gives the columns; the
others, combined, give the rows; settings with one value are said once, above the grid.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.datastructures import MultiValueDict
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from playground import catalogue, numbers, pricing, request_rules
from playground.generations.creation import estimate_of
from playground.generations.forms import GenerationForm, form_for
from playground.generations.references import Attached

# A run is at most this many jobs: enough to compare, not enough to spend a month's
# budget by a slip of the mouse.
MAX_CELLS = 48
MAX_VARIABLES = 4
VARIABLE = re.compile(r"\{(\w+)\}")
# A size a model does not accept leaves its cell out (said in the cell); other errors
# stop the whole run.
SIZE_FIELDS = {"size", "resolution", "width", "height"}


def size_choices() -> list[tuple[str, str]]:
    """The sizes a run offers: those every model accepts first, then `auto` and the
    other aspect ratios (each model's form decides which it makes)."""
    offered: list[str] = []
    for spec in catalogue.MODELS.values():
        sizes = ("auto", *spec.ratios) if spec.is_flexible else spec.sizes
        offered.extend(s for s in sizes if catalogue.parse_wxh(s) is None and s not in offered)
    everywhere = [s for s in offered if all(accepts(m, s) for m in catalogue.MODELS.values())]
    ordered = everywhere + [s for s in offered if s not in everywhere]
    return [(s, _("Auto") if s == "auto" else s) for s in ordered]


def accepts(spec: catalogue.ModelSpec, size: str) -> bool:
    return not request_rules.size_errors(spec, size, spec.default_resolution or None)


def variables_of(text: str) -> list[str]:
    """The template's {variables}, in the order they first appear."""
    return list(dict.fromkeys(VARIABLE.findall(text)))


def fill(text: str, values: Mapping[str, str]) -> str:
    return VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def values_from(raw: str) -> list[str]:
    """One value per line; blank lines and repeats dropped."""
    return list(dict.fromkeys(line.strip() for line in raw.splitlines() if line.strip()))


@dataclass
class Variable:
    """One variable's values field, as the page shows it."""

    name: str
    raw: str
    values: list[str]
    in_template: bool
    errors: list[str] = field(default_factory=list)

    @property
    def braced(self) -> str:
        return f"{{{self.name}}}"


def variable_fields(template: str, data: Mapping[str, Any]) -> list[Variable]:
    """A values field per variable of the template, plus those the person filled for a
    variable no longer in it (kept, with a message, so nothing typed is lost)."""
    found = variables_of(template)
    shown = list(found)
    for name in _getlist(data, "var_names"):
        if name not in shown and VARIABLE.fullmatch(f"{{{name}}}") and data.get(f"values-{name}"):
            shown.append(name)
    fields = []
    for name in shown:
        raw = str(data.get(f"values-{name}") or "")
        fields.append(Variable(name, raw, values_from(raw), name in found))
    return fields


def _getlist(data: Mapping[str, Any], name: str) -> list[str]:
    if isinstance(data, MultiValueDict):  # a QueryDict: a field may be sent many times
        return list(data.getlist(name))
    value = data.get(name)
    return list(value) if isinstance(value, list | tuple) else [value] if value else []


@dataclass
class Entry:
    label: str
    settings: dict[str, Any]


@dataclass
class Cell:
    row: int
    column: int
    row_label: str
    column_label: str
    settings: dict[str, Any]
    form: GenerationForm
    estimate: pricing.Estimate | None = None
    skipped: str = ""  # the model's reason it cannot make this cell

    @property
    def is_job(self) -> bool:
        return not self.skipped and self.form.is_valid()

    @property
    def spec(self) -> catalogue.ModelSpec:
        return self.form.spec


@dataclass
class Plan:
    rows: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    row_heading: str = ""
    column_heading: str = ""
    shared: str = ""  # the settings every cell shares
    cells: list[Cell] = field(default_factory=list)
    # Page field name -> messages ("__all__" for the page as a whole).
    errors: dict[str, list[str]] = field(default_factory=dict)
    variables: list[Variable] = field(default_factory=list)
    # Beside the sizes: which cells a ticked size rules out, and why ("Auto: GPT Image 2
    # only — 2 cells won't be made").
    size_notes: list[str] = field(default_factory=list)

    def add_error(self, name: str, message: str) -> None:
        messages = self.errors.setdefault(name, [])
        if message not in messages:
            messages.append(message)

    @property
    def jobs(self) -> list[Cell]:
        return [c for c in self.cells if c.is_job]

    @property
    def planned(self) -> list[Cell]:
        """The cells that would be jobs (all of them once every message is dealt with)."""
        return [c for c in self.cells if not c.skipped]

    @property
    def total(self) -> Decimal:
        return sum((c.estimate.total_credits for c in self.planned if c.estimate), Decimal(0))

    @property
    def jobs_total(self) -> Decimal:
        """What Generate would make, estimated: the figure the budget is checked on."""
        return sum((c.estimate.total_credits for c in self.jobs if c.estimate), Decimal(0))

    @property
    def total_usd(self) -> Decimal:
        return pricing.to_usd(self.total)

    @property
    def grid(self) -> list[tuple[str, list[Cell]]]:
        width = len(self.columns)
        return [
            (label, self.cells[i * width : (i + 1) * width]) for i, label in enumerate(self.rows)
        ]

    @property
    def ready(self) -> bool:
        """Generate may go: no error anywhere and at least one job."""
        return not self.errors and bool(self.jobs)


def make_plan(
    data: Mapping[str, Any],
    *,
    mode: str,
    text: str,
    models: list[str],
    qualities: list[str],
    sizes: list[str],
    references: list[Attached],
    errors: Mapping[str, list[str]] | None = None,
) -> Plan:
    """The grid of jobs for these choices. `data` is the page's raw values (n,
    resolution, private, lineage and the template's values); `errors` are the page
    form's own, kept in the plan so one place holds every message."""
    plan = Plan()
    for name, messages in (errors or {}).items():
        for message in messages:
            plan.add_error(name, message)
    prompt_field = "template" if mode == "template" else "prompt"
    axes: list[tuple[str, list[Entry]]] = []
    if mode == "template":
        plan.variables = variable_fields(text, data)
        check_variables(plan, text)
        for variable in plan.variables:
            if variable.in_template and variable.values:
                entries = [Entry(v, {"vars": {variable.name: v}}) for v in variable.values]
                axes.append((f"{{{variable.name}}}", entries))
    axes.append((_("Model"), [Entry(catalogue.MODELS[m].label, {"model": m}) for m in models]))
    axes.append((_("Size"), [Entry(dict(size_choices())[s], {"size": s}) for s in sizes]))
    axes.append(
        (
            _("Quality"),
            [Entry(str(catalogue.QUALITY_LABELS[q]), {"quality": q}) for q in qualities],
        )
    )
    count = 1
    for _heading, entries in axes:
        count *= len(entries)
    if count > MAX_CELLS:
        plan.add_error(
            "__all__",
            _(
                "These choices make %(count)s jobs; a run makes at most %(max)d. "
                "Untick some models, qualities or sizes, or give fewer values."
            )
            % {"count": numbers.grouped(count), "max": MAX_CELLS},
        )
        return plan
    if count == 0 or plan.errors.keys() & {"template"} or _has_value_errors(plan):
        return plan

    prompt_problems: dict[str, list[str]] = {}
    order = [v.name for v in plan.variables]

    def form_of(settings: dict[str, Any]) -> GenerationForm:
        values = settings["vars"]
        settings["vars"] = {name: values[name] for name in order if name in values}
        return form_for(settings["model"])(_cell_data(data, text, settings), references=references)

    for cell in _lay_out(plan, axes, form_of):
        plan.cells.append(cell)
        _check_cell(plan, cell, prompt_problems)
    for message, where in prompt_problems.items():
        if mode == "template" and where != [""]:
            plan.add_error(
                prompt_field,
                _("%(values)s: %(message)s") % {"values": "; ".join(where), "message": message},
            )
        else:
            plan.add_error(prompt_field, message)
    plan.size_notes = size_notes(plan, models, sizes)
    if plan.cells and not plan.jobs and not plan.errors:
        plan.add_error(
            "sizes", _("No ticked model accepts the ticked sizes: tick another size or model.")
        )
    return plan


def size_notes(plan: Plan, models: list[str], sizes: list[str]) -> list[str]:
    """For each ticked size some ticked model cannot make: who makes it, and how many
    cells it leaves out."""
    labels = dict(size_choices())
    notes = []
    for size in sizes:
        left_out = sum(1 for c in plan.cells if c.skipped and c.settings["size"] == size)
        if not left_out:
            continue
        makers = [catalogue.MODELS[m].label for m in models if accepts(catalogue.MODELS[m], size)]
        cells = ngettext(
            "%(count)s cell won't be made", "%(count)s cells won't be made", left_out
        ) % {"count": numbers.grouped(left_out)}
        if makers:
            notes.append(
                _("%(size)s: %(models)s only — %(cells)s.")
                % {"size": labels.get(size, size), "models": ", ".join(makers), "cells": cells}
            )
        else:
            notes.append(
                _("%(size)s: no ticked model makes it — %(cells)s.")
                % {"size": labels.get(size, size), "cells": cells}
            )
    return notes


def default_sizes(models: list[str], preferred: str) -> list[str]:
    """The sizes a page starts with: `preferred` when every ticked model makes it, else
    the first size they all make (so no "Not made" cell is ticked by default)."""
    specs = [catalogue.MODELS[m] for m in models if m in catalogue.MODELS]
    if all(accepts(spec, preferred) for spec in specs):
        return [preferred]
    for size, _label in size_choices():
        if all(accepts(spec, size) for spec in specs):
            return [size]
    return [preferred]


def makers_of_sizes() -> dict[str, list[str]]:
    """Size -> the models that make it: what the page's script needs to keep the
    default sizes to those every ticked model makes."""
    return {
        size: [spec.id for spec in catalogue.MODELS.values() if accepts(spec, size)]
        for size, _label in size_choices()
    }


def _cell_data(data: Mapping[str, Any], text: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The studio form's values for one cell."""
    values = {
        "model": settings["model"],
        "prompt": fill(text, settings.get("vars", {})),
        "size": settings["size"],
        "quality": settings["quality"],
        "n": str(data.get("n") or "1"),
    }
    if catalogue.MODELS[settings["model"]].is_flexible:
        values["resolution"] = str(data.get("resolution") or "")
    if data.get("private"):
        values["private"] = "on"
    for name in ("parent", "parent_relation"):
        if data.get(name):
            values[name] = str(data[name])
    return values


def _lay_out(
    plan: Plan,
    axes: list[tuple[str, list[Entry]]],
    form_of: Callable[[dict[str, Any]], GenerationForm],
) -> list[Cell]:
    """Rows, columns and their labels; the cells row by row, each with the form
    `form_of` makes of its settings."""
    varying = [i for i, (_h, entries) in enumerate(axes) if len(entries) > 1]
    column_axis = varying[-1] if varying else len(axes) - 1
    row_axes = [i for i in varying if i != column_axis]
    plan.column_heading = axes[column_axis][0]
    plan.row_heading = " · ".join(axes[i][0] for i in row_axes)
    plan.shared = " · ".join(
        axes[i][1][0].label for i in range(len(axes)) if i not in varying and i != column_axis
    )
    row_combos = list(itertools.product(*(axes[i][1] for i in row_axes)))
    plan.rows = [" · ".join(e.label for e in combo) or plan.shared for combo in row_combos]
    plan.columns = [e.label for e in axes[column_axis][1]]
    fixed = [axes[i][1][0] for i in range(len(axes)) if i not in varying and i != column_axis]
    cells = []
    for r, combo in enumerate(row_combos):
        for c, column_entry in enumerate(axes[column_axis][1]):
            settings: dict[str, Any] = {"vars": {}}
            for entry in (*fixed, *combo, column_entry):
                for key, value in entry.settings.items():
                    if key == "vars":
                        settings["vars"].update(value)
                    else:
                        settings[key] = value
            cells.append(
                Cell(
                    row=r,
                    column=c,
                    row_label=plan.rows[r],
                    column_label=column_entry.label,
                    settings=settings,
                    form=form_of(settings),
                )
            )
    return cells


def check_variables(plan: Plan, text: str) -> None:
    found = variables_of(text)
    if not text.strip():
        plan.add_error("template", _("Write the template: a prompt with {variables} in it."))
        return
    if not found:
        plan.add_error(
            "template",
            _(
                "The template has no {variable}: put a word in braces, such as {animal}, "
                "where the values should go."
            ),
        )
    elif len(found) > MAX_VARIABLES:
        plan.add_error(
            "template",
            _("The template has %(count)d variables; use at most %(max)d.")
            % {"count": len(found), "max": MAX_VARIABLES},
        )
    for variable in plan.variables:
        if not variable.in_template:
            variable.errors.append(
                _("{%(name)s} is no longer in the template: put it back, or clear these values.")
                % {"name": variable.name}
            )
        elif not variable.values:
            variable.errors.append(
                _("Give at least one value for {%(name)s}, one per line.") % {"name": variable.name}
            )


def _has_value_errors(plan: Plan) -> bool:
    return any(v.errors for v in plan.variables)


def _check_cell(plan: Plan, cell: Cell, prompt_problems: dict[str, list[str]]) -> None:
    """Validate one cell with its model's studio form, and estimate it."""
    form = cell.form
    if form.is_valid():
        cell.estimate = estimate_of(form)
        return
    spec = form.spec
    problems = form.errors.as_data()
    if problems.keys() & SIZE_FIELDS:
        reasons = request_rules.size_errors(
            spec, cell.settings["size"], form.data.get("resolution") if spec.is_flexible else None
        )
        messages = [m for found in reasons.values() for m in found] or [
            str(m) for name in SIZE_FIELDS & problems.keys() for m in form.errors[name]
        ]
        cell.skipped = " ".join(messages)
        return
    where = ", ".join(
        f"{{{k}}} = {Truncator(v).chars(40)}" for k, v in cell.settings.get("vars", {}).items()
    )
    for name, errors in form.errors.items():
        for message in map(str, errors):
            if name == "prompt":
                places = prompt_problems.setdefault(message, [])
                if where not in places:
                    places.append(where)
            elif name in ("n",):
                plan.add_error("n", message)
            else:
                plan.add_error("__all__", message)
    # An estimate all the same when only the prompt is wrong: the grid stays useful while
    # the person is still typing.
    if problems.keys() <= {"prompt"}:
        cell.estimate = _raw_estimate(cell)


def _raw_estimate(cell: Cell) -> pricing.Estimate | None:
    spec, data = cell.form.spec, cell.form.data
    try:
        n = int(data.get("n") or spec.default_n)
    except ValueError:
        return None
    return pricing.estimate(
        spec,
        quality=cell.settings["quality"],
        size=cell.settings["size"],
        resolution=data.get("resolution") or None,
        n=n,
        reference_images=len(cell.form.references),
        prompt=data.get("prompt") or "",
    )
