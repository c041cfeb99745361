"""Periodic tasks are declared in code and written into django-q2's scheduler after
`migrate` (playground/lib/schedules.py); no migration stores a dotted path.

The test database is made by `migrate`, so its schedules are the ones the hook wrote.
"""

from __future__ import annotations

import pytest
from django.utils.module_loading import import_string
from django_q.models import Schedule

from playground.exports import tasks
from playground.generations import jobs, references
from playground.lib import schedules

pytestmark = pytest.mark.django_db


def test_every_declared_schedule_exists_after_migrate_and_its_function_imports() -> None:
    declared = {schedule.name: schedule for schedule in schedules.declared()}
    assert set(declared) == {
        "playground-reconcile",
        "playground-clean-references",
        "playground-clean-masks",
        "playground-exports",
        "playground-audit-retention",
        "playground-alerts-deliver",
        "playground-alerts-sweep",
        "playground-notification-emails",
    }
    rows = {row.name: row for row in Schedule.objects.filter(name__in=declared)}
    assert set(rows) == set(declared)
    for name, schedule in declared.items():
        row = rows[name]
        assert import_string(row.func) is schedule.func
        assert (row.schedule_type, row.minutes, row.repeats) == (
            schedule.schedule_type,
            schedule.minutes,
            -1,
        )
    assert import_string(rows["playground-reconcile"].func) is jobs.reconcile
    assert import_string(rows["playground-exports"].func) is tasks.maintain
    assert import_string(rows["playground-clean-references"].func) is references.clean_unreferenced


def test_syncing_twice_changes_nothing() -> None:
    schedules.sync()
    before = list(Schedule.objects.order_by("name").values())
    assert schedules.sync() == {"created": 0, "updated": 0, "deleted": 0}
    assert list(Schedule.objects.order_by("name").values()) == before


def test_a_function_that_moved_is_pointed_at_again() -> None:
    # As the reconciler's row was before jobs.py moved into generations/.
    Schedule.objects.filter(name="playground-reconcile").update(
        func="playground.jobs.reconcile", minutes=5
    )
    next_run = Schedule.objects.get(name="playground-reconcile").next_run
    assert schedules.sync() == {"created": 0, "updated": 1, "deleted": 0}
    row = Schedule.objects.get(name="playground-reconcile")
    assert (row.func, row.minutes) == ("playground.generations.jobs.reconcile", 1)
    assert row.next_run == next_run  # its place in the scheduler is kept


def test_a_missing_schedule_is_created() -> None:
    Schedule.objects.filter(name="playground-exports").delete()
    assert schedules.sync() == {"created": 1, "updated": 0, "deleted": 0}
    assert Schedule.objects.get(name="playground-exports").func == (
        "playground.exports.tasks.maintain"
    )


def test_ours_no_longer_declared_is_deleted_and_an_admins_is_kept() -> None:
    Schedule.objects.create(name="playground-retired", func="playground.gone.task")
    Schedule.objects.create(name="nightly-report", func="somewhere.else.report")
    assert schedules.sync() == {"created": 0, "updated": 0, "deleted": 1}
    assert not Schedule.objects.filter(name="playground-retired").exists()
    assert Schedule.objects.filter(name="nightly-report").exists()


def test_a_schedule_must_carry_our_prefix_and_be_declared_once() -> None:
    with pytest.raises(ValueError, match="starts with"):
        schedules.declare(schedules.Periodic("reconcile", jobs.reconcile, schedules.MINUTES, 1))
    with pytest.raises(ValueError, match="declared twice"):
        schedules.declare(
            schedules.Periodic("playground-reconcile", jobs.reconcile, schedules.MINUTES, 5)
        )
    # The same declaration again (a second `ready()`) is harmless.
    schedules.declare(
        schedules.Periodic("playground-reconcile", jobs.reconcile, schedules.MINUTES, 1)
    )


def test_no_migration_writes_a_schedule() -> None:
    """Only the hook writes schedules: a migration holding a dotted path is what broke
    when code moved."""
    from pathlib import Path

    import playground

    root = Path(playground.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.glob("*/migrations/*.py")
        if '"Schedule"' in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
