"""The simulator package's modules share public names only, and import one another
without a cycle (issue 21: the mixins used to share private state across modules)."""

from __future__ import annotations

import ast
from pathlib import Path

import playground.evolink.simulator

PACKAGE = "playground.evolink.simulator"
FOLDER = Path(playground.evolink.simulator.__file__).parent


def parsed_modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(), str(path)) for path in FOLDER.glob("*.py")}


def sibling(imported: str | None) -> str | None:
    """The package module an import statement names, if it is one of ours."""
    if imported is None or not imported.startswith(PACKAGE + "."):
        return None
    return imported[len(PACKAGE) + 1 :].split(".")[0]


def imports_of(tree: ast.Module) -> list[tuple[str, str]]:
    """(module, name) for every name taken from a sibling module, including the modules
    themselves (`from package import routes` gives (routes, "")), wherever the import is
    (inside functions and `if TYPE_CHECKING:` blocks too)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if node.module == PACKAGE:
                found += [(alias.name, "") for alias in node.names]
            elif (module := sibling(node.module)) is not None:
                found += [(module, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"relative import of {node.module}: use the full name")
        elif isinstance(node, ast.Import):
            found += [(m, "") for alias in node.names if (m := sibling(alias.name)) is not None]
    return found


def test_no_module_takes_a_private_name_from_another() -> None:
    offenders = [
        f"{name}.py imports {module}.{imported}"
        for name, tree in parsed_modules().items()
        for module, imported in imports_of(tree)
        if imported.startswith("_") or module.startswith("_")
    ]
    assert offenders == []


def test_no_module_reads_a_private_attribute_of_anything_but_itself() -> None:
    """`world.lock`, not `sim._lock`: shared state is public, on the World."""
    offenders = [
        f"{name}.py:{node.lineno} {ast.unparse(node)}"
        for name, tree in parsed_modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    assert offenders == []


def in_a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """The modules on (or behind) an import cycle; [] when there is none."""
    # Kahn's algorithm: peel off modules that import nothing left; a cycle remains.
    remaining = dict(graph)
    while ready := [name for name, targets in remaining.items() if not targets & remaining.keys()]:
        for name in ready:
            del remaining[name]
    return sorted(remaining)


def test_the_modules_import_one_another_without_a_cycle() -> None:
    graph = {
        name: {module for module, _ in imports_of(tree)} - {name}
        for name, tree in parsed_modules().items()
        if name != "__init__"  # the package's face: it imports the others
    }
    assert not any("__init__" in targets for targets in graph.values())
    assert in_a_cycle(graph) == []


def test_the_checks_see_a_cycle_and_a_private_import() -> None:
    """The checks above can fail: they catch what the package used to do."""
    tree = ast.parse(
        f"from {PACKAGE}.faults import _HttpFault\nfrom {PACKAGE} import routes\nimport {PACKAGE}.x"
    )
    assert imports_of(tree) == [("faults", "_HttpFault"), ("routes", ""), ("x", "")]
    graph = {"handler": {"server", "files"}, "server": {"handler"}, "files": set()}
    assert in_a_cycle(graph) == ["handler", "server"]
