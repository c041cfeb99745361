"""One number per job in each team (the numbers were given in 0012)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("playground", "0013_cancelled_state"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="generation",
            constraint=models.UniqueConstraint(
                fields=("team", "number"), name="unique_job_number_per_team"
            ),
        ),
    ]
