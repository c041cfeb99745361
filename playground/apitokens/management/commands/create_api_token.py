"""manage.py create_api_token USERNAME --team SLUG --name NAME [--days N]

For automation and operators: makes a token of that member in that team and prints it
on the last line of the output, alone (so `| tail -n 1` takes it). Nothing else this
command writes holds the value, and it is never logged or stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from playground.apitokens import revoking
from playground.apitokens.models import DEFAULT_DAYS, MAX_DAYS
from playground.teams.models import Membership


class Command(BaseCommand):
    help = "Make a personal API token of a team member and print it on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--team", required=True, help="the team's address (slug)")
        parser.add_argument("--name", required=True, help="what the token is for")
        parser.add_argument(
            "--days", type=int, default=DEFAULT_DAYS, help=f"1..{MAX_DAYS} (default 90)"
        )
        parser.add_argument(
            "--only-me", action="store_true", help="its jobs are 'Only me' by default"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username, slug, name = options["username"], options["team"], options["name"].strip()
        days = options["days"]
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be from 1 to {MAX_DAYS}.")
        if not name or len(name) > 100:
            raise CommandError("--name must be 1 to 100 characters.")
        membership = (
            Membership.objects.select_related("team", "user")
            .filter(user__username=username, team__slug=slug, user__is_active=True)
            .first()
        )
        if membership is None:
            raise CommandError(f"{username!r} is not an active member of the team {slug!r}.")
        token, value = revoking.create_token(
            membership, name=name, days=days, only_me_default=options["only_me"]
        )
        self.stdout.write(
            f"Token {token.name!r} ({token.shown}) of {username} in {membership.team.name}, "
            f"role {membership.role}, expires {token.expires_at:%Y-%m-%d %H:%M %Z}:"
        )
        self.stdout.write(value)
