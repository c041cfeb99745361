"""`manage.py evolink_check`: prove EvoLink's contract with a real key (see README)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from playground.billing import contract_checks
from playground.billing.models import ApiKey, ContractCheck
from playground.evolink.contract import CHEAPEST_ESTIMATE, EXPECTED

MARKS = {"expected": "ok", "different": "DIFFERENT", "missing": "MISSING"}


class Command(BaseCommand):
    help = (
        "Check that EvoLink answers as the playground relies on, with a stored key (--key ID) "
        "or EVOLINK_API_KEY (--env): reads /v1/credits and a task that does not exist; with "
        f"--spend also runs the cheapest job (about {CHEAPEST_ESTIMATE} credits), reads it to "
        "the end and archives its image. Exits 1 when anything differs or is missing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--key", type=int, metavar="ID", help="a stored key's id (see /admin/)")
        which.add_argument("--env", action="store_true", help="the EVOLINK_API_KEY setting")
        parser.add_argument(
            "--spend",
            action="store_true",
            help=f"also run one paid job (about {CHEAPEST_ESTIMATE} credits)",
        )
        parser.add_argument(
            "--base-url", help=f"the EvoLink to check (default {settings.EVOLINK_BASE_URL})"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        key = None
        if options["env"]:
            if not settings.EVOLINK_API_KEY:
                raise CommandError("EVOLINK_API_KEY is not set.")
        else:
            key = ApiKey.objects.filter(pk=options["key"]).first()
            if key is None:
                raise CommandError(f"No stored key has the id {options['key']}.")
        check = contract_checks.create(
            key=key, spend=options["spend"], base_url=options["base_url"]
        )
        paid = f", with one paid job (about {CHEAPEST_ESTIMATE} credits)" if check.spend else ""
        self.stdout.write(
            f"Checking EvoLink's contract at {check.base_url} with {check.key_label}{paid}…"
        )
        contract_checks.perform(check.pk, deadline=contract_checks.COMMAND_DEADLINE_SECONDS)
        check.refresh_from_db()
        self.stdout.write(table(check))
        if check.state == ContractCheck.State.CRASHED:
            raise CommandError(f"The check stopped: {check.error}")
        problems = check.differences
        if problems:
            raise CommandError(
                f"{len(problems)} of {len(check.rows)} differ or are missing (check {check.pk})."
            )
        self.stdout.write(
            self.style.SUCCESS(f"All {len(check.rows)} as expected (check {check.pk}).")
        )


def table(check: ContractCheck) -> str:
    """The rows as aligned text: outcome, request, field, what was seen, what we rely on."""
    header = ("", "request", "field", "seen", "expected")
    lines = [header] + [
        (
            MARKS.get(row["outcome"], row["outcome"]),
            row["step"],
            row["field"],
            _clip(row["seen"] or "–"),
            _(row["expected"]),
        )
        for row in check.rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    out = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:4])) + "  " + line[4]
        for line in lines
    ]
    extra = []
    if check.task_id:
        extra.append(f"task: {check.task_id}")
    if check.credits_used is not None:
        extra.append(f"charged: {check.credits_used} credits")
    if check.archive:
        extra.append(f"image archived as {check.archive}")
    if check.request_ids:
        extra.append(f"request ids: {', '.join(check.request_ids)}")
    return "\n".join(out + extra)


def _clip(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["EXPECTED", "Command", "table"]
