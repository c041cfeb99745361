"""Every existing person gets a personal team (as its admin), and their jobs move in.

Jobs before teams were visible to their owner alone; in a personal team they still
are, until its admin invites someone. References come along with their jobs (the
stored images are shared by content, and the job links point at them).
"""

from django.conf import settings
from django.db import migrations
from django.utils.text import slugify


def personal_teams(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Team = apps.get_model("teams", "Team")
    Membership = apps.get_model("teams", "Membership")
    Profile = apps.get_model("teams", "Profile")
    Generation = apps.get_model("playground", "Generation")
    taken = set(Team.objects.values_list("slug", flat=True))
    for user in User.objects.order_by("pk").iterator():
        # Run again after a partial rollback, someone already in a team keeps it.
        existing = Membership.objects.filter(user=user).order_by("pk").first()
        if existing:
            Generation.objects.filter(owner=user, team__isnull=True).update(team=existing.team_id)
            continue
        slug = base = slugify(user.username)[:50] or f"user-{user.pk}"
        suffix = 1
        while slug in taken:
            suffix += 1
            slug = f"{base}-{suffix}"
        taken.add(slug)
        team = Team.objects.create(name=user.username[:100], slug=slug)
        Membership.objects.create(team=team, user=user, role="admin")
        Profile.objects.update_or_create(user=user, defaults={"current_team": team})
        Generation.objects.filter(owner=user, team__isnull=True).update(team=team)


class Migration(migrations.Migration):
    dependencies = [
        ("playground", "0005_teams"),
        ("teams", "0001_initial"),
    ]
    # Reversing leaves the teams in place: 0005's reverse drops the job links to them.
    operations = [migrations.RunPython(personal_teams, migrations.RunPython.noop)]
