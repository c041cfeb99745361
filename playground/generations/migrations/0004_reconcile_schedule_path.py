"""Pointed the reconciler's schedule at the jobs module's new path.

Schedules are declared in code now, with a function reference rather than a path, and
written after `migrate` (playground/lib/schedules.py): moving code needs no
migration any more. This does nothing; it stays so the migration history is unchanged.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("playground", "0003_references")]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
