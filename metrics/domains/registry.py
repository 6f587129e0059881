"""The domains behind one interface, for the CLI, the pages and the exports."""

from __future__ import annotations

from types import ModuleType

import duckdb
import pandas as pd

from metrics.db import row, scalar
from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.domains import coverage, grids, issues, pairing
from metrics.selection import Selection, SelectionError
from metrics.settings import Settings

MODULES: dict[str, ModuleType] = {"coverage": coverage, "issues": issues, "pairing": pairing,
                                  "grids": grids}
LEVELS = {
    "coverage": ("city", "district", "street", "community"),
    "issues": ("city", "district", "street", "community", "grid"),
    "pairing": ("city", "district", "street", "community"),
    "grids": grids.LEVELS,
}
# Tables each domain reads: a cached result is keyed by exactly these versions.
TABLES = {
    "coverage": ("units", "organizations", "targets"),
    "issues": ("units", "issues", "targets"),
    "pairing": ("units", "pairings", "projects", "checkins", "targets"),
    "grids": ("units", "grids", "compounds", "targets"),
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
    """The month a report of ``domain`` without a period is about (month index)."""
    return MODULES[domain].latest(con)


# The months the monthly extracts describe: report months of the orders, ledger months, check-in
# months, grid and compound snapshot months. Start, due and completion dates are plans (a pairing
# signed to start next month) and never widen the list of months a page offers.
_MONTHLY_RANGE_SQL = f"""
SELECT min(lo), max(hi) FROM (
  SELECT min(rm) AS lo, max(rm) AS hi FROM {issues.AGG_TABLE}
  UNION ALL SELECT min(year(period) * 12 + month(period) - 1),
                   max(year(period) * 12 + month(period) - 1) FROM organizations
  UNION ALL SELECT min(year(period) * 12 + month(period) - 1),
                   max(year(period) * 12 + month(period) - 1) FROM checkins
  UNION ALL SELECT min(year(period) * 12 + month(period) - 1),
                   max(year(period) * 12 + month(period) - 1) FROM grids
  UNION ALL SELECT min(year(period) * 12 + month(period) - 1),
                   max(year(period) * 12 + month(period) - 1) FROM compounds)"""


def month_range(con: duckdb.DuckDBPyConnection) -> tuple[int, int] | None:
    """(first, last) month index the data covers, None for a store without data.

    The range of the monthly extracts (issues, organizations, check-ins); the last is the
    default month of every page and of the exports — the newest of the domains' ``latest``.
    A store with only pairings and projects falls back to their months that have happened.
    """
    lo, hi = row(con, _MONTHLY_RANGE_SQL)
    if hi is not None:
        return int(lo), int(hi)
    last = pairing.latest(con)
    if last is None:
        return None
    first = scalar(con, "SELECT min(started_on) FROM pairings")
    first_i = first.year * 12 + first.month - 1 if first is not None else last
    return min(first_i, last), last


def default_month(con: duckdb.DuckDBPyConnection) -> int | None:
    """The month shown when none is chosen (month index): the newest the data covers."""
    r = month_range(con)
    return None if r is None else r[1]


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
