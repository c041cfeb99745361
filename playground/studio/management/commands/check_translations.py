"""Fail when a string a person can read has no Korean or Japanese translation.

    .venv/bin/python manage.py check_translations

Runs this project's `makemessages` (both domains, django and djangojs) on a copy of
the source tree and its catalogues, so the working tree is left as it is, and fails if
either language has an untranslated or a fuzzy entry afterwards: a string added to a
template, a form or a script without its translations, or a translation left for
review. It also fails when a committed `.mo` does not hold exactly what its `.po`
says (the `.mo` files are committed so a fresh clone runs without gettext;
`compilemessages` rebuilds them).

`.ci/test` runs it; tests/test_translations_check.py shows it failing on a
deliberately untranslated string.
"""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

LANGUAGES = ("ko", "ja")
DOMAINS = ("django", "djangojs")
# Not copied for the extraction: no strings of ours (and big).
SKIPPED = (".git", ".venv", ".ci", "node_modules", "var", "media", "staticfiles", "bench", "tests")


def entries(po: Path, *flags: str) -> list[str]:
    """The msgids `msgattrib` selects with `flags` (e.g. --untranslated), header excluded."""
    out = subprocess.run(  # noqa: S603
        ["msgattrib", "--no-obsolete", "--no-wrap", *flags, str(po)],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = []
    for block in out.split("\n\n"):
        msgid: list[str] = []
        for line in block.splitlines():
            if line.startswith("msgid "):
                msgid = [line[len("msgid ") :].strip('"')]
            elif msgid and line.startswith('"'):
                msgid.append(line.strip('"'))  # a msgid continued over several lines
            elif msgid:
                break
        if "".join(msgid):  # the header's msgid is empty
            found.append("".join(msgid))
    return found


class _Compiled(gettext.GNUTranslations):
    # What GNUTranslations reads a .mo file into (msgid, or (msgid, n) for plurals):
    # set by its parser, and not declared in typeshed's stubs.
    _catalog: dict[Any, str]


def catalogue(mo: Path) -> dict[Any, str]:
    with mo.open("rb") as file:
        return dict(_Compiled(file)._catalog)


def compiled(po: Path, workdir: Path) -> dict[Any, str]:
    target = workdir / (po.stem + ".mo")
    subprocess.run(  # noqa: S603
        ["msgfmt", "--check-format", "-o", str(target), str(po)],  # noqa: S607
        check=True,
        capture_output=True,
    )
    return catalogue(target)


class Command(BaseCommand):
    help = "Fail if a Korean or Japanese translation is missing, fuzzy or not compiled."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--root",
            default=str(settings.BASE_DIR),
            help="the source tree to extract strings from (default: this project)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(options["root"])
        locale = Path(settings.LOCALE_PATHS[0])
        problems: list[str] = []
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            # The committed .mo files must be what their .po files compile to.
            for po in sorted(locale.glob("*/LC_MESSAGES/*.po")):
                mo = po.with_suffix(".mo")
                if not mo.exists():
                    problems.append(f"{mo.relative_to(locale)} is missing: run compilemessages")
                elif catalogue(mo) != compiled(po, work):
                    problems.append(f"{mo.relative_to(locale)} is stale: run compilemessages")
            # makemessages writes the strings of a folder that holds a locale/ into that
            # locale/, whatever LOCALE_PATHS says: it runs on a copy of the tree so the
            # project's catalogues are never touched.
            source = work / "src"
            shutil.copytree(root, source, ignore=shutil.ignore_patterns(*SKIPPED))
            if locale.is_relative_to(root):
                copy = source / locale.relative_to(root)
            else:
                copy = work / "locale"
                shutil.copytree(locale, copy)
            here = Path.cwd()
            os.chdir(source)  # makemessages extracts from the current directory
            try:
                with override_settings(LOCALE_PATHS=[str(copy)]):
                    for domain in DOMAINS:
                        call_command(
                            "makemessages",
                            locale=list(LANGUAGES),
                            domain=domain,
                            verbosity=0,
                        )
            finally:
                os.chdir(here)
            for language in LANGUAGES:
                for domain in DOMAINS:
                    po = copy / language / "LC_MESSAGES" / f"{domain}.po"
                    if not po.exists():
                        problems.append(f"{language}/{domain}.po is missing")
                        continue
                    for msgid in entries(po, "--untranslated"):
                        problems.append(f"{language}/{domain}.po: untranslated: {msgid!r}")
                    for msgid in entries(po, "--only-fuzzy"):
                        problems.append(f"{language}/{domain}.po: fuzzy: {msgid!r}")
        if problems:
            raise CommandError(
                "The catalogues are not complete:\n  "
                + "\n  ".join(problems)
                + "\nRun `manage.py makemessages -l ko -l ja` (and `-d djangojs`), "
                "translate, then `manage.py compilemessages`."
            )
        self.stdout.write("Korean and Japanese catalogues complete and compiled.")
