"""Django's makemessages with this project's defaults, so that everyone (and CI's check,
`manage.py check_translations`) extracts the same catalogues the same way:

- the folders that hold no strings of ours are skipped (the venv, tools, tests,
  benchmarks, the vendored htmx);
- references name the file without line numbers, so moving code does not rewrite
  every catalogue;
- no obsolete entries: a string that left the code leaves the catalogue;
- no fuzzy matching: a new string starts untranslated (and fails the check) rather
  than inheriting a near-miss translation marked fuzzy that nobody reviewed.

    .venv/bin/python manage.py makemessages -l ko -l ja
    .venv/bin/python manage.py makemessages -l ko -l ja -d djangojs
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import makemessages

IGNORED = [".venv/*", ".ci/*", "tests/*", "bench/*", "static/vendor/*", "staticfiles/*", "var/*"]


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]

    def handle(self, *args: Any, **options: Any) -> None:
        options["ignore_patterns"] = [*options.get("ignore_patterns", []), *IGNORED]
        if options.get("add_location") is None:
            options["add_location"] = "file"
        # A string that left the code leaves the catalogue (no "#~" leftovers).
        options["no_obsolete"] = True
        super().handle(*args, **options)
