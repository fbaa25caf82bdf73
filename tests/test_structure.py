"""The package's shape: no import cycles, SQL only in the store, no oversized modules in the experiment layer."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import ROOT

SIM = ROOT / "sim"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of ``sim`` that ``path`` imports anywhere (functions included), type-only imports aside."""
    found: set[str] = set()
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            # ``from pkg import mod`` depends on the module; ``from mod import name`` on ``mod``.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            names = []
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in SIM.rglob("*.py")}
    known = set(files)
    return {name: _imports(path, known) for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, state, stack = [], {}, []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles_in_the_experiment_layer_report_and_cli():
    """Cycles elsewhere in sim/ (the model's own modules) are the model's to untie; none may touch these."""
    graph = _graph()
    mine = ("sim.experiment", "sim.report", "sim.cli", "sim.docs", "sim.charts", "sim.optimise", "sim.explorer")
    cycles = [c for c in _cycles(graph) if any(m.startswith(mine) for m in c)]
    assert not cycles, cycles


def test_only_the_store_talks_sql():
    store = SIM / "experiment" / "store"
    users = [p.relative_to(ROOT).as_posix() for p in SIM.rglob("*.py")
             if store not in p.parents and "sqlalchemy" in {n.split(".")[0] for n in _raw_imports(p)}]
    assert users == [], users


def _raw_imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def test_no_module_of_the_experiment_layer_is_over_500_lines():
    paths = [*(SIM / "experiment").rglob("*.py"), *(SIM / "optimise").rglob("*.py"),
             *(SIM / "explorer").rglob("*.py"),
             SIM / "report.py", SIM / "report_page.py", SIM / "report_text.py",
             SIM / "cli.py", SIM / "cli_options.py", SIM / "docs.py"]
    long = {p.relative_to(ROOT).as_posix(): n for p in paths if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long
