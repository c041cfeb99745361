"""Job numbers per team: existing jobs are numbered 1, 2, 3… in each team, in the order
they were made (their id). The unique constraint comes in 0014: on PostgreSQL a table
cannot be altered in the transaction that just updated its rows (pending triggers)."""

from django.conf import settings
from django.db import migrations, models


def number_existing_jobs(apps, schema_editor):
    Generation = apps.get_model("playground", "Generation")
    team_ids = Generation.objects.values_list("team_id", flat=True).distinct()
    for team_id in team_ids:
        batch = []
        jobs = Generation.objects.filter(team_id=team_id).order_by("id").only("id")
        for number, job in enumerate(jobs.iterator(chunk_size=2000), start=1):
            job.number = number
            batch.append(job)
            if len(batch) == 2000:
                Generation.objects.bulk_update(batch, ["number"])
                batch = []
        Generation.objects.bulk_update(batch, ["number"])


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0001_initial'),
        ('playground', '0011_reference_reencoded'),
        ('teams', '0002_budgets'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='generation',
            name='number',
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(number_existing_jobs, migrations.RunPython.noop),
    ]
