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


# --- each fact in one place -------------------------------------------------------------------

PRODUCT = sorted([*PACKAGE.rglob("*.py"), *(ROOT / "ui").rglob("*.py"), *(ROOT / "pages").rglob("*.py"),
                  ROOT / "app.py"])
# (what, a pattern only its home may contain, the home; None: no file)
ONE_HOME = [
    ("the GB 32100 character set", r"0123456789ABCDEFGHJKLMNPQRTUWXY", "metrics/contract/credit_code.py"),
    ("the GB 32100 weights", r"1, 3, 9, 27, 19, 26", "metrics/contract/credit_code.py"),
    ("office media types", r"application/vnd\.openxmlformats|\"text/csv\"|application/pdf",
     "metrics/exports/build.py"),
    ("level names", r"\"district\": \"区县\"", "metrics/contract/schema.py"),
    ("table labels", r"name=\"organizations\", label=|\"organizations\": \"[^\"]*台账\"",
     "metrics/contract/schema.py"),
    # A rate is a metric of kind "rate" in metrics/definitions.py; no list spells them out.
    ("a list of the rate metrics", r"\"org_coverage_rate\", \"work_coverage_rate\", "
                                   r"\"standalone_rate\", \"close_rate\"", None),
    ("month and period labels", r"年\{[^}]*\}月(?!\{)|年\{int\(", "metrics/selection.py"),
    ("the data dir default", r"\"data\" / \"store\"", "metrics/datadir.py"),
]


def test_each_fact_has_one_home():
    import re

    strays = []
    for what, pattern, home in ONE_HOME:
        rx = re.compile(pattern)
        hits = sorted({str(p.relative_to(ROOT)) for p in PRODUCT
                       if rx.search(p.read_text(encoding="utf-8"))})
        assert home is None or home in hits, f"{what}: expected its definition in {home}"
        strays += [f"{what}: {h} (home: {home})" for h in hits if h != home]
    assert strays == [], "\n".join(strays)


def test_code_cites_the_contract_where_it_is_in_the_repo():
    """The contract is the product's own (docs/contract/); a bare file name cites nothing."""
    import re

    bare = re.compile(r"(?<![/\w-])(metrics|data-contract|cli)\.md")
    cited = re.compile(r"docs/contract/([\w-]+\.md)")
    files = [p for p in [*PRODUCT, *sorted((ROOT / "tests").rglob("*.py")), ROOT / "README.md"]
             if p.name != "test_architecture.py"]
    stale, missing = [], set()
    for p in files:
        text = p.read_text(encoding="utf-8")
        stale += [f"{p.relative_to(ROOT)}: {m.group(0)}" for m in bare.finditer(text)]
        missing |= {m for m in cited.findall(text) if not (ROOT / "docs/contract" / m).exists()}
    assert stale == [] and missing == set(), (stale, missing)


# --- the domain interface ----------------------------------------------------------------------

DOMAIN_INTERFACE = ("KEYS", "TABLES", "LEVELS", "FILTERS", "FOLLOW_UPS", "MONTHS_SQL", "report", "query", "latest",
                    "resolve", "breakdown", "follow_up", "filter_options")


def test_every_registered_domain_declares_the_interface():
    """What docs/ARCHITECTURE.md "How to add a domain" asks of a domain module; the registry
    reads levels, filters, tables and aggregates from the modules and restates none of them."""
    from metrics.definitions import DOMAIN_KEYS
    from metrics.domains import registry

    for name, module in registry.MODULES.items():
        missing = [a for a in DOMAIN_INTERFACE if not hasattr(module, a)]
        assert missing == [], f"{name} lacks {missing}"
        assert list(module.KEYS) == list(DOMAIN_KEYS[name])
        assert set(module.LEVELS) <= {"city", "district", "street", "community", "grid"}
        assert registry.LEVELS[name] == module.LEVELS
        assert registry.FILTERS[name] == module.FILTERS
        assert registry.TABLES[name] == module.TABLES and "units" in module.TABLES
    for table, module in registry.AGGREGATES.items():
        assert module.AGGREGATES_FROM == table
        assert callable(module.aggregate_queries) and callable(module.aggregate_key)


def test_the_registry_reaches_each_domains_follow_up_lists_and_breakdowns(city, settings):
    import pandas as pd

    from metrics.domains import coverage, grids, issues, pairing, registry, tasks
    from metrics.selection import Selection

    sel = Selection.make("street", period="2026-10")
    direct = {
        "should_build": coverage.gap_list(city.con, sel, "should_build"),
        "work_uncovered": coverage.gap_list(city.con, sel, "work_uncovered"),
        "overdue_orders": issues.overdue_orders(city.con, sel),
        "overdue_projects": pairing.overdue_projects(city.con, sel),
        **{w: grids.follow_up(city.con, sel, w) for w in grids.FOLLOW_UPS},
        "tasks_overdue": tasks.overdue_tasks(city.con, sel, settings=settings),
        "tasks_due_soon": tasks.due_soon_tasks(city.con, sel, settings=settings),
    }
    assert sorted(direct) == sorted(w for ws in registry.FOLLOW_UPS.values() for w in ws)
    for which, frame in direct.items():
        pd.testing.assert_frame_equal(registry.follow_up(city.con, which, sel, settings=settings),
                                      frame)
    pd.testing.assert_frame_equal(
        registry.breakdown(city.con, "issues", sel, "source", settings=settings),
        issues.breakdown(city.con, sel, "source", settings=settings))
    pd.testing.assert_frame_equal(registry.breakdown(city.con, "pairing", sel, "kind",
                                                     settings=settings),
                                  pairing.breakdown(city.con, sel, "kind"))


def test_no_dataframe_attrs_in_the_product():
    """A report's period and snapshots travel in ``Report`` (metrics/domains/common.py), typed;
    ``DataFrame.attrs`` is experimental in pandas and silently lost or merged by operations."""
    import re

    rx = re.compile(r"\.attrs\b")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in PRODUCT
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if rx.search(line)]
    assert found == []


def test_every_domain_report_is_a_report(city, settings):
    from metrics.domains import registry
    from metrics.domains.common import Report
    from metrics.selection import Selection

    sel = Selection.make("city", period="2026-10")
    for name in registry.MODULES:
        rep = registry.report(city.con, name, sel, settings=settings)
        assert isinstance(rep, Report) and not rep.frame.attrs, name
        assert rep.first == rep.last == 2026 * 12 + 9, name
        assert rep.has_snapshot == (name in ("coverage", "grids")), name
        assert set(rep.snapshots) == ({"grid", "compound"} if name == "grids" else set()), name
    for domain, groups in registry.GROUP_LEVELS.items():
        for group in groups:
            assert isinstance(registry.group_report(city.con, domain, group, sel,
                                                    settings=settings), Report)


def test_ui_components_only_draw():
    """The components are given frames, Reports and targets; the page layer reads them through
    its ``ui.reader.Reader`` (docs/ARCHITECTURE.md "Metric functions")."""
    tree = ast.parse((ROOT / "ui" / "components.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported |= {f"{node.module}.{a.name}" for a in node.names} | {node.module or ""}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    readers = {"ui.cache", "ui.reader", "metrics.domains.registry.report", "metrics.db", "duckdb"}
    assert imported & readers == set()
