"""Dependencies flow one way: the layers of playground/ and the rule for views.

README.md ("Architecture") says why; LAYERS below is the rule itself, and the tests
read every import of playground/ (with `ast`, imports inside functions and under
TYPE_CHECKING included; no Django, no database) and fail on one that breaks it:

- A domain module (anything that is not a view module) imports only from its own
  part and from the layers below it. Parts on the same layer are independent.
- A view module (`views.py`, `*_views.py`, `urls.py`, template tags, management
  commands) composes domains: it may import the models and services of any app, but
  never another view module. Only `urls.py` imports views.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. Each layer is a list of parts; each part is the module prefixes it
# covers. A module belongs to the part with the longest matching prefix.
LAYERS: list[list[tuple[str, ...]]] = [
    [
        (  # core: plain Python over the catalogue, and the shared web plumbing
            "playground.catalogue",
            "playground.pricing",
            "playground.request_rules",
            "playground.numbers",
            "playground.tokenizer",
            "playground.ids",
            "playground.csvsafe",
            "playground.imageformats",
            "playground.data",
            "playground.lib",
        )
    ],
    [("playground.evolink",)],
    # Renders evolink's error texts (and the jobs' and keys' own) in the reader's language.
    [("playground.stored_messages",)],
    [("playground.teams",)],
    # Who did what, written by the layers above in the same transaction as the change.
    [("playground.audit",)],
    [("playground.billing",), ("playground.sso",), ("playground.apitokens",)],
    [("playground.generations",)],
    [("playground.gallery",), ("playground.notifications",), ("playground.alerts",)],
    [("playground.comments",)],
    # A review's note becomes a comment.
    [("playground.reviews",)],
    [("playground.matrix",), ("playground.exports",)],
    [("playground.sharing",)],
    [("playground.studio",), ("playground.api",)],
    [("playground.urls", "playground.settings", "playground.wsgi")],
]


def is_view(module: str) -> bool:
    """Pages and commands: they compose domains, so the layers do not bind them."""
    parts = module.split(".")
    last = parts[-1]
    return (
        last in ("views", "urls")
        or last.endswith("_views")
        or "templatetags" in parts
        or "commands" in parts
    )


def views_only(module: str) -> bool:
    """A module of views proper, which only the URL configuration imports."""
    last = module.split(".")[-1]
    return last == "views" or last.endswith("_views")


def part_of(module: str) -> tuple[int, tuple[str, ...]] | None:
    """(layer index, part) of a module, or None if no layer names it."""
    if module == "playground":  # the package itself (an empty __init__) is the top
        return len(LAYERS) - 1, LAYERS[-1][0]
    best: tuple[int, tuple[str, ...]] | None = None
    best_length = -1
    for index, layer in enumerate(LAYERS):
        for part in layer:
            for prefix in part:
                if (module == prefix or module.startswith(prefix + ".")) and len(
                    prefix
                ) > best_length:
                    best, best_length = (index, part), len(prefix)
    return best


def _name(part: tuple[str, ...]) -> str:
    return "core" if len(part) > 1 else part[0].removeprefix("playground.")


def problems(graph: dict[str, set[str]]) -> list[str]:
    """Every import of `graph` (module -> the playground modules it imports) that
    breaks the layers or the views rule, each as one readable sentence."""
    found = []
    for importer in sorted(graph):
        source = part_of(importer)
        if source is None:
            found.append(f"{importer} is in no layer: add it to LAYERS and to the README.")
            continue
        for imported in sorted(graph[importer]):
            target = part_of(imported)
            if target is None:
                found.append(f"{imported} is in no layer: add it to LAYERS and to the README.")
                continue
            if views_only(imported) and imported != importer:
                if importer.split(".")[-1] != "urls":
                    found.append(
                        f"{importer} imports {imported}: views never import views; move "
                        "what both need into a domain module (a model, a service)."
                    )
                continue
            if is_view(importer):
                continue
            (source_layer, source_part), (target_layer, target_part) = source, target
            if target_part == source_part or target_layer < source_layer:
                continue
            found.append(
                f"{importer} imports {imported}: {_name(source_part)} (layer {source_layer}) "
                f"may import only itself and the layers below it, not {_name(target_part)} "
                f"(layer {target_layer})."
            )
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module of `from … import`, relative imports included."""
    if not node.level:
        return node.module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph(known: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the playground modules it imports, from the source of `known`."""
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, path.name == "__init__.py", node)
                for alias in node.names:
                    # `from playground import catalogue` imports the module catalogue.
                    candidate = f"{base}.{alias.name}"
                    imported.add(candidate if candidate in known else base)
        graph[module] = {
            name for name in imported if name == "playground" or name.startswith("playground.")
        }
        graph[module].discard(module)
    return graph


def playground_modules() -> dict[str, Path]:
    """Every module of playground/, migrations aside (they record history, and may
    name what a model was when they were written)."""
    return {
        module_name(path): path
        for path in sorted((ROOT / "playground").rglob("*.py"))
        if "migrations" not in path.parts
    }


def test_the_imports_of_playground_follow_the_layers() -> None:
    modules = playground_modules()
    assert "playground.evolink.upstream" in modules
    found = problems(import_graph(modules))
    assert not found, "\n".join(found)


def test_the_graph_sees_imports_inside_functions_and_from_packages() -> None:
    graph = import_graph(playground_modules())
    # `from playground import catalogue, stored_messages` names two modules.
    assert {"playground.catalogue", "playground.stored_messages"} <= graph[
        "playground.generations.models"
    ]
    assert "playground.pricing" in graph["playground.generations.models"]  # inside a method


def test_a_wrong_import_is_reported() -> None:
    graph = {
        # Reaching up: the upstream client asking billing for keys.
        "playground.evolink.client": {"playground.billing.models", "playground.catalogue"},
        # A view borrowing a helper from another page's views.
        "playground.matrix.views": {"playground.studio.views", "playground.generations.budgets"},
        # Two parts of one layer are independent.
        "playground.exports.sources": {"playground.matrix.models"},
        # Allowed: a page composes any app's services; urls import views.
        "playground.teams.views": {"playground.generations.budgets"},
        "playground.urls": {"playground.studio.views", "playground.matrix.views"},
    }
    assert problems(graph) == [
        "playground.evolink.client imports playground.billing.models: evolink (layer 1) "
        "may import only itself and the layers below it, not billing (layer 5).",
        "playground.exports.sources imports playground.matrix.models: exports (layer 10) "
        "may import only itself and the layers below it, not matrix (layer 10).",
        "playground.matrix.views imports playground.studio.views: views never import "
        "views; move what both need into a domain module (a model, a service).",
    ]


def test_a_module_outside_every_layer_is_reported() -> None:
    assert problems({"playground.newapp.models": {"playground.catalogue"}}) == [
        "playground.newapp.models is in no layer: add it to LAYERS and to the README."
    ]
