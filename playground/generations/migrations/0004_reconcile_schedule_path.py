"""The jobs module moved to playground.generations.jobs: point the schedule there.

Tasks already queued under the old path fail to import once; the reconciler picks
their rows up again, since the rows, not the queue, say what is left to do.
"""

from django.db import migrations

OLD, NEW = "playground.jobs.reconcile", "playground.generations.jobs.reconcile"


def forwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=OLD).update(func=NEW)


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=NEW).update(func=OLD)


class Migration(migrations.Migration):
    dependencies = [("playground", "0003_references")]
    operations = [migrations.RunPython(forwards, backwards)]
