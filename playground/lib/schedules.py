"""Periodic tasks, declared in code and written into django-q2's scheduler after `migrate`.

django-q2 keeps its schedules as rows holding a dotted path to the function. They used
to be written by data migrations, so moving a function needed a fix-up migration, and
a fresh database and an upgraded one could differ. Now each app declares its periodic
tasks once, with a real function reference (`declare`, from its `AppConfig.ready`), and
`sync` makes the table match after every `migrate` (a `post_migrate` hook):

- a declared schedule that is missing is created;
- one whose function path or cadence changed is updated (its `next_run` is kept);
- a schedule we own (its name starts with `OWNED_PREFIX`) that nobody declares any
  more is deleted; schedules an admin added under other names are left alone.

Running it again changes nothing, so it is safe on every `migrate` and every flush.
It lives in lib/ (the bottom layer): each app declares its own tasks here, and this
module imports none of them. The hook itself is connected by the generations app, the
lowest app with models (Django sends `post_migrate` only for those).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.apps.registry import Apps
from django.db import DEFAULT_DB_ALIAS

log = logging.getLogger(__name__)

OWNED_PREFIX = "playground-"

# django-q2's `Schedule.schedule_type` values used here (the model's constants, copied so
# that declaring a schedule does not import django_q's models before apps are ready).
MINUTES = "I"
HOURLY = "H"


@dataclass(frozen=True)
class Periodic:
    """One periodic task: its schedule's name, the function it runs, and how often."""

    name: str
    func: Callable[[], object]
    schedule_type: str  # MINUTES (every `minutes`) or HOURLY
    minutes: int | None = None

    # The columns of django-q2's Schedule that a declaration decides.
    FIELDS: ClassVar[tuple[str, ...]] = ("func", "schedule_type", "minutes", "repeats")

    @property
    def path(self) -> str:
        """The dotted path django-q2 stores, taken from the function itself."""
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def fields(self) -> dict[str, Any]:
        return {
            "func": self.path,
            "schedule_type": self.schedule_type,
            "minutes": self.minutes,
            "repeats": -1,
        }


_declared: dict[str, Periodic] = {}


def declare(*schedules: Periodic) -> None:
    """Add periodic tasks to the ones `sync` writes (called from `AppConfig.ready`)."""
    for schedule in schedules:
        if not schedule.name.startswith(OWNED_PREFIX):
            raise ValueError(f"a schedule's name starts with {OWNED_PREFIX!r}: {schedule.name}")
        if _declared.get(schedule.name, schedule) != schedule:
            raise ValueError(f"schedule {schedule.name} is declared twice, differently")
        _declared[schedule.name] = schedule


def declared() -> list[Periodic]:
    return sorted(_declared.values(), key=lambda schedule: schedule.name)


def sync(apps: Apps | None = None, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Make django-q2's schedules match the declared ones; returns what it changed."""
    if apps is None:
        from django.apps import apps as installed

        apps = installed
    rows = apps.get_model("django_q", "Schedule").objects.using(using)
    counts = {"created": 0, "updated": 0, "deleted": 0}
    wanted = {schedule.name: schedule.fields() for schedule in declared()}
    columns = ["pk", "name", *Periodic.FIELDS]
    for row in rows.filter(name__startswith=OWNED_PREFIX).values(*columns):
        fields = wanted.pop(row["name"], None)
        if fields is None:
            rows.filter(pk=row["pk"]).delete()
            counts["deleted"] += 1
            log.info("schedule %s: no longer declared, deleted", row["name"])
        elif any(row[name] != value for name, value in fields.items()):
            rows.filter(pk=row["pk"]).update(**fields)
            counts["updated"] += 1
            log.info("schedule %s: updated to %s", row["name"], fields)
    for name, fields in wanted.items():
        rows.create(name=name, **fields)
        counts["created"] += 1
    return counts


def sync_after_migrate(
    apps: Apps | None = None, using: str = DEFAULT_DB_ALIAS, **_kwargs: Any
) -> None:
    """The `post_migrate` hook: after `migrate` with the migrated state's models (`apps`),
    after `flush` (tests) with the installed ones."""
    if apps is not None:
        try:
            apps.get_model("django_q", "Schedule")
        except LookupError:  # migrated to a point before django_q's tables
            return
    sync(apps, using)
