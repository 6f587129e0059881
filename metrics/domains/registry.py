"""The domains behind one interface, for the CLI, the pages and the exports."""

from __future__ import annotations

from types import ModuleType

import duckdb
import pandas as pd

from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.domains import coverage, grids, issues, pairing, tasks
from metrics.domains.common import Report
from metrics.query import row
from metrics.selection import Selection, SelectionError, ranked_level
from metrics.settings import Settings

MODULES: dict[str, ModuleType] = {"coverage": coverage, "issues": issues, "pairing": pairing,
                                  "grids": grids, "tasks": tasks}
# The levels each domain reports on, the filters it accepts and the tables it reads (its
# module's LEVELS, FILTERS, TABLES). A filter's name is a column of the domain's table; only
# these ever reach SQL as identifiers. A cached result is keyed by exactly the TABLES' versions.
LEVELS: dict[str, tuple[str, ...]] = {name: m.LEVELS for name, m in MODULES.items()}
FILTERS: dict[str, tuple[str, ...]] = {name: m.FILTERS for name, m in MODULES.items()}
TABLES: dict[str, tuple[str, ...]] = {name: m.TABLES for name, m in MODULES.items()}
# The domains that build aggregates at ingest, by the raw table they summarise: each declares
# AGGREGATES_FROM, aggregate_queries(source_sql, settings) and aggregate_key(settings).
# ``metrics.db`` builds and loads them from this list and names no domain itself.
AGGREGATES: dict[str, ModuleType] = {m.AGGREGATES_FROM: m for m in MODULES.values()
                                     if getattr(m, "AGGREGATES_FROM", None)}
# Rankings of something other than units: domain → {group level: Chinese name}. A group level
# is not a Selection level (it has no codes); its rows cover everything under the selection's
# unit, one per group value, and ``group_report`` answers it.
GROUP_LEVELS = {"tasks": {tasks.OWNER_LEVEL: "责任单位"}}


def check_selection(domain: str, sel: Selection) -> None:
    if sel.level not in LEVELS[domain]:
        raise SelectionError(f"{domain} 不支持层级 {sel.level}")
    for name, _ in sel.filters:
        _check_filter(domain, name)


def _check_filter(domain: str, name: str) -> None:
    if name not in FILTERS[domain]:
        raise SelectionError(f"筛选条件 {name} 不适用于该板块(可用：{', '.join(FILTERS[domain])})")


def filter_options(con: duckdb.DuckDBPyConnection, domain: str, name: str, *,
                   scope: str | None = None) -> list[str]:
    """The values a page offers for the domain's filter ``name`` (one of its FILTERS), in the
    order shown; ``scope`` (the viewer's) limits lists drawn from the data to what it may see."""
    _check_filter(domain, name)
    return MODULES[domain].filter_options(con, name, scope=scope)


def rank_level(domain: str, unit_level: str, level: str | None = None) -> str | None:
    """The level ranked under a unit of ``unit_level`` (``ranked_level``), None when the domain
    does not report it (grids for issues only; tasks stop at a street)."""
    lv = ranked_level(unit_level, level)
    return lv if lv is not None and lv in LEVELS[domain] else None


def for_domain(domain: str, sel: Selection, level: str, *, month: int | None = None) -> Selection:
    """``sel`` as ``domain`` answers it at ``level``: only the domain's own filters (the others
    name columns it does not have), and with ``month`` that one month (``Selection.one_month``)."""
    s = sel.only_filters(FILTERS[domain]).with_(level=level)
    return s if month is None else s.one_month(month)


def report(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, *,
           settings: Settings) -> Report:
    """The domain's keys per unit of ``sel.level`` and the period they were judged for."""
    check_selection(domain, sel)
    return MODULES[domain].report(con, sel, settings=settings)


def breakdown(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, by: str, *,
              settings: Settings) -> pd.DataFrame:
    """The domain's numbers split by ``by`` (one of its FILTERS or breakdown columns)."""
    return MODULES[domain].breakdown(con, sel, by, settings=settings)


# Each follow-up list belongs to one domain (the names are unique across domains).
FOLLOW_UPS: dict[str, tuple[str, ...]] = {name: m.FOLLOW_UPS for name, m in MODULES.items()}
_FOLLOW_UP_DOMAIN = {which: name for name, lists in FOLLOW_UPS.items() for which in lists}


def follow_up(con: duckdb.DuckDBPyConnection, which: str, sel: Selection, *,
              settings: Settings | None = None, limit: int = 5000) -> pd.DataFrame:
    """A follow-up list (应建未建清单, 超期未办结工单, …) of whichever domain owns ``which``;
    ``settings`` for the lists that depend on one (临期任务: the due-soon days)."""
    domain = _FOLLOW_UP_DOMAIN.get(which)
    if domain is None:
        raise ValueError(which)
    return MODULES[domain].follow_up(con, sel, which, settings=settings, limit=limit)


def group_report(con: duckdb.DuckDBPyConnection, domain: str, group: str, sel: Selection, *,
                 settings: Settings) -> Report:
    """The domain's keys per value of ``group`` (one of ``GROUP_LEVELS[domain]``: 责任单位 of
    重点任务督办) over everything under ``sel``'s unit; ``unit_code`` and ``unit_name`` are both
    the group value, and the period is that of ``report``."""
    if group not in GROUP_LEVELS.get(domain, {}):
        raise SelectionError(f"{domain} 不支持层级 {group}")
    check_selection(domain, sel.with_(level="city"))
    return MODULES[domain].owner_report(con, sel, settings=settings)


def latest(con: duckdb.DuckDBPyConnection, domain: str) -> int | None:
    """The month a report of ``domain`` without a period is about (month index)."""
    return MODULES[domain].latest(con)


# The months the monthly extracts describe: report months of the orders, ledger months, check-in
# months, grid and compound snapshot months. Start, due and completion dates are plans (a pairing
# signed to start next month, a 重点任务 due next year) and never widen the list of months a page
# offers: the tasks ledger adds no months here at all.
_MONTHLY_RANGE_SQL = ("SELECT min(lo), max(hi) FROM (\n  "
                      + "\n  UNION ALL ".join(m.MONTHS_SQL for m in MODULES.values() if m.MONTHS_SQL)
                      + ")")


def month_range(con: duckdb.DuckDBPyConnection) -> tuple[int, int] | None:
    """(first, last) month index the data covers, None for a store without data.

    The range of the monthly extracts (issues, organizations, check-ins); the last is the
    default month of every page and of the exports — the newest of the domains' ``latest``.
    A store with only pairings and projects falls back to their months that have happened; one
    with only a task ledger to the month ``tasks.latest`` reports.
    """
    lo, hi = row(con, _MONTHLY_RANGE_SQL)
    if hi is not None:
        return int(lo), int(hi)
    last = pairing.latest(con)
    if last is None:
        last = tasks.latest(con)
        return None if last is None else (last, last)
    first = pairing.first_activity(con)
    first_i = first if first is not None else last
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
