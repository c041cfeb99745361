"""Installed the every-minute export maintenance in django-q2's scheduler.

Schedules are declared in code now (ExportsConfig.ready) and written after `migrate`
(playground/lib/schedules.py), so this does nothing; it stays so that the
migration history of existing databases is unchanged.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
