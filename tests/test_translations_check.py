"""`manage.py check_translations`, the CI check that every string a person can read has
its Korean and Japanese translations: shown passing on a complete tree and failing on a
deliberately untranslated string, a fuzzy one and a stale compiled catalogue.

Each test builds a tiny source tree with its own catalogues, so it does not depend on
the state of the project's; .ci/test runs the same command on the project itself.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test.utils import override_settings

HEADER = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: {lang}\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

"""
TRANSLATED = {
    "ko": {"Generate": "생성", "Copied": "복사됨"},
    "ja": {"Generate": "生成", "Copied": "コピーしました"},
}


def catalogue(lang: str, entries: dict[str, str], fuzzy: str = "") -> str:
    text = HEADER.format(lang=lang)
    for msgid, msgstr in entries.items():
        flag = "#, fuzzy\n" if msgid == fuzzy else ""
        text += f'{flag}msgid "{msgid}"\nmsgstr "{msgstr}"\n\n'
    return text


def tree(tmp_path: Path, template: str, fuzzy: str = "") -> tuple[Path, Path]:
    """A source tree (a template, a script) and its complete, compiled catalogues, inside
    the app folder as the project's are (playground/locale/)."""
    root = tmp_path / "src"
    (root / "app" / "templates").mkdir(parents=True)
    (root / "app" / "templates" / "page.html").write_text(template)
    (root / "static" / "js").mkdir(parents=True)
    (root / "static" / "js" / "page.js").write_text('alert(gettext("Copied"));\n')
    locale = root / "app" / "locale"
    for lang, words in TRANSLATED.items():
        folder = locale / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        for domain, msgid in (("django", "Generate"), ("djangojs", "Copied")):
            po = folder / f"{domain}.po"
            po.write_text(catalogue(lang, {msgid: words[msgid]}, fuzzy=fuzzy))
            subprocess.run(  # noqa: S603
                ["msgfmt", "-o", str(po.with_suffix(".mo")), str(po)],  # noqa: S607
                check=True,
            )
    return root, locale


def check(root: Path, locale: Path) -> str:
    with override_settings(LOCALE_PATHS=[str(locale)]):
        try:
            call_command("check_translations", root=str(root))
        except CommandError as error:
            return str(error)
    return ""


GOOD = '{% load i18n %}<button>{% translate "Generate" %}</button>\n'


def test_a_complete_tree_passes(tmp_path: Path) -> None:
    assert check(*tree(tmp_path, GOOD)) == ""


def test_a_string_without_translations_fails_the_check(tmp_path: Path) -> None:
    root, locale = tree(tmp_path, GOOD + '<p>{% translate "A string nobody translated" %}</p>\n')
    before = {po: po.read_bytes() for po in locale.rglob("*.po")}
    problems = check(root, locale)
    assert "ko/django.po: untranslated: 'A string nobody translated'" in problems
    assert "ja/django.po: untranslated: 'A string nobody translated'" in problems
    # The project's own catalogues are left as they were: makemessages sends a folder's
    # strings to the locale/ inside it, so the check extracts from a copy of the tree.
    assert {po: po.read_bytes() for po in locale.rglob("*.po")} == before


def test_a_fuzzy_translation_fails_the_check(tmp_path: Path) -> None:
    problems = check(*tree(tmp_path, GOOD, fuzzy="Generate"))
    assert "ko/django.po: fuzzy: 'Generate'" in problems
    assert "ja/django.po: fuzzy: 'Generate'" in problems


def test_a_stale_compiled_catalogue_fails_the_check(tmp_path: Path) -> None:
    root, locale = tree(tmp_path, GOOD)
    po = locale / "ja/LC_MESSAGES/django.po"
    po.write_text(po.read_text().replace('msgstr "生成"', 'msgstr "作成"'))
    assert "ja/LC_MESSAGES/django.mo is stale" in check(root, locale)


@pytest.mark.parametrize("lang", ["ko", "ja"])
def test_a_script_string_without_translations_fails_the_check(tmp_path: Path, lang: str) -> None:
    root, locale = tree(tmp_path, GOOD)
    (root / "static" / "js" / "more.js").write_text('alert(gettext("Not yet translated"));\n')
    assert f"{lang}/djangojs.po: untranslated: 'Not yet translated'" in check(root, locale)
