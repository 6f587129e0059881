"""The three domains behind one interface, for the CLI, the pages and the exports."""

from __future__ import annotations

from types import ModuleType

import duckdb
import pandas as pd

from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.domains import coverage, issues, pairing
from metrics.selection import Selection, SelectionError
from metrics.settings import Settings

MODULES: dict[str, ModuleType] = {"coverage": coverage, "issues": issues, "pairing": pairing}
LEVELS = {
    "coverage": ("city", "district", "street", "community"),
    "issues": ("city", "district", "street", "community", "grid"),
    "pairing": ("city", "district", "street", "community"),
}
# Tables each domain reads: a cached result is keyed by exactly these versions.
TABLES = {
    "coverage": ("units", "organizations", "targets"),
    "issues": ("units", "issues", "targets"),
    "pairing": ("units", "pairings", "projects", "checkins", "targets"),
}


def check_selection(domain: str, sel: Selection) -> None:
    if sel.level not in LEVELS[domain]:
        raise SelectionError(f"{domain} 不支持层级 {sel.level}")
    allowed = MODULES[domain].FILTERS
    for name, _ in sel.filters:
        if name not in allowed:
            raise SelectionError(f"筛选条件 {name} 不适用于该板块(可用：{', '.join(allowed)})")


def report(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, *,
           settings: Settings) -> pd.DataFrame:
    check_selection(domain, sel)
    return MODULES[domain].report(con, sel, settings=settings)


def latest(con: duckdb.DuckDBPyConnection, domain: str) -> int | None:
    return MODULES[domain].latest(con)


def explain(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, *,
            settings: Settings) -> dict:
    """The SQL that runs and the 口径 of every key, for "show SQL" and 口径说明."""
    check_selection(domain, sel)
    result = MODULES[domain].query(con, sel, settings=settings)
    q = result[0]
    return {
        "sql": q.explain(),
        "definitions": {k: {"label": METRICS[k].label, "definition": METRICS[k].definition}
                        for k in DOMAIN_KEYS[domain]},
    }
