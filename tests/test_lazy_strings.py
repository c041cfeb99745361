"""Lazy translations stay lazy until a page shows them (issue 20).

`gettext_lazy("…%(x)s") % {…}` (or `+`, an f-string, `.format`, `str()`) written at a
module's or a class's top level runs once, at import, in whatever language is active
then: the label stays English for everyone. The matrix page's "Resolution of GPT Image
2's ratios" did. This walks every module of playground/ and fails on any such case, and
checks that the matrix label now follows the reader's language.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.utils import translation

from playground.matrix.forms import MatrixForm

PACKAGE = Path(__file__).resolve().parent.parent / "playground"
LAZY = {"gettext_lazy", "ngettext_lazy", "pgettext_lazy", "npgettext_lazy"}
EAGER = {"gettext", "ngettext", "pgettext", "npgettext"}
# Calls that turn a lazy string into text on the spot.
FORCING = {"str", "format", "capfirst", "mark_safe", "format_html", "escape"}


def _aliases(tree: ast.Module, of: set[str]) -> set[str]:
    names = set(of)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            names |= {a.asname or a.name for a in node.names if a.name in of}
    return names


def _calls(node: ast.AST, names: set[str]) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)) in names


def _is_lazy(node: ast.AST, aliases: set[str], lazy_names: set[str]) -> bool:
    if _calls(node, aliases):
        return True
    # A module-level name bound to a lazy string or to a table of them (LABEL = _("…"),
    # LABELS = {"low": _("Low")}), then LABEL % … or LABELS["low"] + ….
    if isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Name) and node.id in lazy_names


def import_time_formatting(source: str) -> list[tuple[int, str]]:
    """Every lazy string formatted, concatenated or forced outside a function body, and
    every eager gettext there (translated once, at import)."""
    tree = ast.parse(source)
    aliases = _aliases(tree, LAZY)
    eager = _aliases(tree, EAGER) - aliases
    lazy_names = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(_calls(inner, aliases) for inner in ast.walk(node.value))
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: list[tuple[int, str]] = []

    def lazy(node: ast.AST) -> bool:
        return _is_lazy(node, aliases, lazy_names)

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue  # runs when called, in the caller's language
            bad = (
                (isinstance(child, ast.BinOp) and (lazy(child.left) or lazy(child.right)))
                or (
                    isinstance(child, ast.JoinedStr)
                    and any(
                        isinstance(v, ast.FormattedValue) and lazy(v.value) for v in child.values
                    )
                )
                or (
                    isinstance(child, ast.Call)
                    and isinstance(child.func, ast.Attribute)
                    and lazy(child.func.value)
                )
                or (
                    isinstance(child, ast.Call)
                    and isinstance(child.func, ast.Name)
                    and child.func.id in FORCING
                    and any(lazy(a) for a in child.args)
                )
                or _calls(child, eager)
            )
            if bad:
                found.append((child.lineno, ast.unparse(child)))
            visit(child)

    visit(tree)
    return found


def test_the_guard_sees_a_lazy_string_formatted_at_import() -> None:
    source = (
        "from django.utils.translation import gettext_lazy as _\n"
        "A = _('x %(n)s') % {'n': 1}\n"
        "B = _('y')\n"
        "class F:\n"
        "    label = B + '!'\n"
        "    title = f\"{_('z')}\"\n"
        "LABELS = {'low': _('Low')}\n"
        "C = [LABELS[k] + '?' for k in LABELS]\n"
        "from django.utils.translation import gettext\n"
        "D = gettext('now')\n"
        "def fine():\n"
        "    return _('x %(n)s') % {'n': 1}\n"
    )
    assert [line for line, _ in import_time_formatting(source)] == [2, 5, 6, 8, 10]


def test_no_module_formats_a_lazy_string_at_import() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {code}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, code in import_time_formatting(path.read_text())
    ]
    assert found == []


def test_the_matrix_resolution_label_reads_in_the_reader_s_language() -> None:
    expected_in = {"ko": "비율별 해상도", "ja": "のアスペクト比の解像度", "en": "'s ratios"}
    for code, expected in expected_in.items():
        with translation.override(code):
            assert expected in str(MatrixForm().fields["resolution"].label)
