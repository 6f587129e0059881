"""The shape of the ``metrics`` package, read from its source (nothing is imported).

* Its modules import one another without a loop: the module-level import graph is acyclic.
* An import inside a function does not hide a loop either: one whose module imports (at any
  depth, at the top or inside functions) the importer back fails too. A lazy import is fine for
  a heavy or optional library, never to get round the order of the package.
* No Streamlit under ``metrics/``: the package serves the CLI, the exports and scheduled runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "metrics"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str, importer: str, level: int, is_package: bool) -> str:
    if level == 0:
        return name
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports(module: str) -> list[tuple[str, bool, int]]:
    """(imported module, at module level?, line) for every import of ``module``: a name
    imported from a package that is itself a module counts as that module."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                continue  # never runs
            elif isinstance(child, ast.Import):
                out.extend((a.name, top, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(child.module or "", module, child.level, is_package)
                for a in child.names:
                    sub = f"{base}.{a.name}"
                    out.append((sub if sub in MODULES else base, top, child.lineno))
            else:
                visit(child, top)

    visit(tree, True)
    return out


def graph(*, top_only: bool = True) -> dict[str, set[str]]:
    return {m: {t for t, top, _ in imports(m) if t in MODULES and t != m and (top or not top_only)}
            for m in MODULES}


def reaches(g: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A path start → … → goal along g's edges, or None."""
    seen = {start}
    stack = [(start, [start])]
    while stack:
        node, path = stack.pop()
        for nxt in sorted(g[node]):
            if nxt == goal:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    found = []
    for m in sorted(g):
        for t in sorted(g[m]):
            path = reaches(g, t, m)
            if path is not None:
                found.append([m, *path])
    return found


def test_the_reader_sees_every_module_and_its_imports():
    assert "metrics.db" in MODULES and "metrics.domains.registry" in MODULES
    assert ("metrics.contract.schema", True) in {(t, top) for t, top, _ in imports("metrics.db")}


def test_the_cycle_finder_finds_a_loop_and_passes_a_tree():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}})
    assert not cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()})


def test_metrics_modules_import_each_other_without_a_loop():
    loops = cycles(graph())
    assert loops == [], "import loops:\n" + "\n".join(" → ".join(c) for c in loops)


def test_no_import_inside_a_function_hides_a_loop():
    every = graph(top_only=False)
    hidden = []
    for m in MODULES:
        for target, at_top, line in imports(m):
            if at_top or target not in MODULES or target == m:
                continue
            path = reaches(every, target, m)
            if path is not None:
                hidden.append(f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}, "
                              f"which imports it back: {' → '.join(path)}")
    assert hidden == [], "\n".join(hidden)


def test_no_streamlit_import_under_metrics():
    found = [f"{MODULES[m].relative_to(ROOT)}:{line}" for m in MODULES
             for target, _, line in imports(m) if target.split(".")[0] == "streamlit"]
    assert found == []


def test_the_cli_is_not_imported_by_the_package():
    """The CLI is the outermost layer: nothing under metrics/ but ``__main__`` uses it."""
    users = sorted(m for m in MODULES for t, _, _ in imports(m)
                   if t == "metrics.cli" and m != "metrics.__main__")
    assert users == []
