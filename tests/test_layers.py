"""The package is drawn in layers (digest/__init__.py): each part imports only parts below it,
each subpackage's docstring says which parts it may import and holds to it, and the modules'
import graph (function-level imports included) has no cycle."""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "digest"

# Bottom to top. A part may import the parts of lower rows only (and itself); two parts in one
# row do not import each other.
LAYERS: list[set[str]] = [
    {"errors", "models", "timings"},
    {"files"},
    {"net"},
    {"config", "state"},
    {"text"},
    {"feeds"},
    {"issue"},
    {"sending"},
    {"web"},
    {"cli"},
    {"__main__"},
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
MAY_IMPORT = re.compile(r"^May import: (.+?)\.?$", re.M)


def module_name(path: Path) -> str:
    """digest/feeds/gather.py -> feeds.gather; digest/models.py -> models."""
    relative = path.relative_to(PACKAGE).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def part_of(module: str) -> str:
    return module.split(".")[0]


def imports_of(source: str) -> set[str]:
    """The digest modules a module imports, as names under digest ("feeds.gather")."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("digest"):
            base = node.module.removeprefix("digest").lstrip(".")
            found.update(f"{base}.{a.name}".lstrip(".") for a in node.names)
            if base:
                found.add(base)
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("digest.") for a in node.names if a.name.startswith("digest.")
            )
    return found


def package_graph() -> dict[str, set[str]]:
    graph = {
        module_name(path): imports_of(path.read_text("utf-8")) for path in PACKAGE.rglob("*.py")
    }
    known = set(graph)
    # `from digest.feeds import fulltext` names a module; `from digest.feeds.gather import x`
    # names an attribute: keep only what is a module of ours.
    return {module: {name for name in names if name in known} for module, names in graph.items()}


def wrong_way_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a part that is not below the importer's part."""
    wrong = []
    for module, names in sorted(graph.items()):
        mine = part_of(module)
        for name in sorted(names):
            theirs = part_of(name)
            if theirs != mine and RANK[theirs] >= RANK[mine]:
                wrong.append(f"{module} imports {name}: {theirs} is not below {mine}")
    return wrong


def test_every_part_has_a_place_in_the_layers() -> None:
    parts = {part_of(module) for module in package_graph()} - {""}
    assert parts <= set(RANK), f"parts missing from LAYERS: {sorted(parts - set(RANK))}"


def test_no_part_imports_one_above_it_or_beside_it() -> None:
    assert wrong_way_imports(package_graph()) == []


def test_the_check_catches_a_wrong_way_import() -> None:
    """The checker itself: text importing the issue layer, or state importing config (one row),
    is reported; the reverse is fine."""
    graph = {
        "text.summarize": {"issue.render"},
        "state": {"config.settings"},
        "issue.render": {"text.summarize", "models"},
    }
    assert wrong_way_imports(graph) == [
        "state imports config.settings: config is not below state",
        "text.summarize imports issue.render: issue is not below text",
    ]


@pytest.mark.parametrize(
    "package", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")), ids=str
)
def test_each_part_says_what_it_owns_and_may_import_and_holds_to_it(package: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text("utf-8")))
    assert doc and len(doc.split()) > 20, f"digest/{package}/__init__.py: say what it owns"
    declared = MAY_IMPORT.search(doc)
    assert declared, f"digest/{package}/__init__.py: no 'May import:' line"
    text = declared.group(1)
    lower = {part for part, rank in RANK.items() if rank < RANK[package]} - {"__main__"}
    allowed = lower if text == "any part of digest" else {p.strip() for p in text.split(",")}
    assert allowed <= lower, f"{package} may not import {sorted(allowed - lower)}: not below it"
    graph = package_graph()
    used = {
        part_of(name)
        for module, names in graph.items()
        if part_of(module) == package
        for name in names
    } - {package}
    assert used <= allowed, f"{package} imports {sorted(used - allowed)}, not in its docstring"


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = package_graph()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None
    assert order.index("models") < order.index("feeds.gather") < order.index("issue.pipeline")
    assert order.index("issue.pipeline") < order.index("cli.main")
