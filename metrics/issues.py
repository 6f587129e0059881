"""问题解决: work orders — response, closure, on-time, resolution, satisfaction, backlog.

Two ways to the same numbers:

* the **aggregate path** (pages, CLI by default): ``agg_issues`` is built at ingest, one row per
  community × source × category × report month × the months in which the order was closed,
  responded, fell due and passed its response deadline (plus the in-time flags). With as_of on a
  month boundary B, "t < as_of" is exactly "month(t) < B", so every count is a filtered sum over
  a small in-memory table. The as_of cap (one second after the newest stored timestamp) is the
  other default as_of; for it, every stored event has happened, and the two deadline
  comparisons are pre-computed as flags.
* the **raw path** for anything else (an as_of inside a month, the grid level): the definition
  of metrics.md applied row by row to the stored orders.

Tests hold the two paths equal on random data, and both against hand-counted fixtures.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from .common import Period, latest_month, prefix_filter, rate, rollup, unit_key
from .db import Query, scalar
from .definitions import DOMAIN_KEYS
from .selection import Selection, month_start
from .settings import Settings

KEYS = DOMAIN_KEYS["issues"]
COUNTS = [k for k in KEYS if k not in (
    "close_rate", "on_time_rate", "response_rate", "resolve_rate", "satisfaction_rate",
    "avg_close_hours", "score")]
SATISFIED = ("满意", "基本满意")
FILTERS = ("source", "category")

AGG_TABLE = "agg_issues"  # with source and category: filtered reports
AGG_UNIT_TABLE = "agg_issues_unit"  # without: the default, unfiltered report (smaller)


def _mi(expr: str) -> str:
    """Month index of a timestamp expression (null stays null)."""
    return f"(year({expr}) * 12 + month({expr}) - 1)"


def _response_deadline(col: str = "reported_at") -> str:
    return f"({col} + to_microseconds(CAST(round($response_seconds * 1000000) AS BIGINT)))"


def aggregate_key(settings: Settings) -> str:
    return settings.issues_key()


def aggregate_queries(source_sql: str, settings: Settings) -> dict[str, Query]:
    """The aggregates pages read, built at ingest from the stored orders."""
    params = {"response_seconds": float(settings.response_hours) * 3600.0}
    base = f"""
WITH src AS ({source_sql}),
cap AS (
  SELECT greatest(max(reported_at), coalesce(max(responded_at), max(reported_at)),
                  coalesce(max(closed_at), max(reported_at))) + INTERVAL 1 SECOND AS cap
  FROM src
)
SELECT
  community_code, source, category,
  {_mi("reported_at")} AS rm,
  {_mi("closed_at")} AS cm,
  {_mi("responded_at")} AS rsm,
  {_mi("due_at")} AS dm,
  {_mi(_response_deadline())} AS rdm,
  due_at < cap.cap AS due_cap,
  {_response_deadline()} < cap.cap AS rd_cap,
  closed_at <= due_at AS on_time,
  epoch(responded_at) - epoch(reported_at) <= $response_seconds AS resp_in_time,
  resolved,
  CASE WHEN satisfaction IN ('满意', '基本满意') THEN TRUE
       WHEN satisfaction IS NOT NULL THEN FALSE END AS sat,
  count(*) AS n,
  sum(epoch(closed_at) - epoch(reported_at)) AS close_seconds,
  any_value(cap.cap) AS cap
FROM src, cap
GROUP BY ALL
"""
    full = Query(f"SELECT * FROM ({base}) ORDER BY rm, community_code", params)
    dims = "community_code, rm, cm, rsm, dm, rdm, due_cap, rd_cap, on_time, resp_in_time, resolved, sat"
    unit = Query(
        f"SELECT {dims}, sum(n) AS n, sum(close_seconds) AS close_seconds, any_value(cap) AS cap "
        f"FROM ({base}) GROUP BY ALL ORDER BY rm, community_code",
        params,
    )
    return {AGG_TABLE: full, AGG_UNIT_TABLE: unit}


# --- as_of ------------------------------------------------------------------------------------


def cap(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """One second after the newest stored timestamp: a running month is judged as the extract
    saw it."""
    return scalar(con, f"SELECT max(cap) FROM {AGG_UNIT_TABLE}")


def latest(con: duckdb.DuckDBPyConnection) -> int | None:
    """The latest month with orders."""
    v = scalar(con, f"SELECT max(rm) FROM {AGG_UNIT_TABLE}")
    return None if v is None else int(v)


def resolve(con: duckdb.DuckDBPyConnection, sel: Selection) -> Period:
    first, last = sel.months(latest(con))
    if sel.as_of is not None:
        as_of = sel.as_of
    else:
        as_of = month_start(last + 1)
        c = cap(con)
        if c is not None and c < as_of:
            as_of = c
    return Period(first, last, as_of)


# --- report -----------------------------------------------------------------------------------

_DERIVED = {
    "close_rate": rate("closed", "due"),
    "on_time_rate": rate("closed_on_time", "due"),
    "response_rate": rate("responded_in_time", "response_due"),
    "resolve_rate": rate("resolved", "rated_resolved"),
    "satisfaction_rate": rate("satisfied", "rated_satisfaction"),
    "avg_close_hours": "CASE WHEN closed = 0 THEN NULL ELSE close_seconds / closed / 3600.0 END",
    "score": (
        "100 * ($w_response * " + rate("responded_in_time", "response_due")
        + " + $w_resolve * " + rate("resolved", "rated_resolved")
        + " + $w_satisfaction * " + rate("satisfied", "rated_satisfaction") + ")"
    ),
}


def _filters_sql(sel: Selection, params: dict, alias: str = "") -> str:
    parts = []
    for name, values in sel.filters:
        if name not in FILTERS:
            continue  # other domains' filters do not narrow orders
        key = f"f_{name}"
        params[key] = list(values)
        parts.append(f"{alias}{name} IN (SELECT unnest(${key}))")
    return "".join(f" AND {p}" for p in parts)


def _agg_predicates(mode: str) -> dict[str, str]:
    """Conditions over aggregate rows; mode "month" judges at month boundary $b, "cap" at the cap."""
    if mode == "month":
        closed = "(cm IS NOT NULL AND cm < $b)"
        return {
            "closed": closed,
            "due_passed": "(dm < $b)",
            "responded": "(rsm IS NOT NULL AND rsm < $b)",
            "response_deadline_passed": "(rdm < $b)",
        }
    return {
        "closed": "(cm IS NOT NULL)",
        "due_passed": "due_cap",
        "responded": "(rsm IS NOT NULL)",
        "response_deadline_passed": "rd_cap",
    }


def _facts_from_aggregate(level: str, prefix: str, sel: Selection, period: Period, mode: str,
                          params: dict) -> str:
    p = _agg_predicates(mode)
    closed = p["closed"]
    table = AGG_TABLE if any(k in FILTERS for k, _ in sel.filters) else AGG_UNIT_TABLE
    params.update({"m_first": period.first, "m_last": period.last})
    where_b = ""
    if mode == "month":
        params["b"] = period.as_of.year * 12 + period.as_of.month - 1
        where_b = " AND rm < $b"  # reported before as_of, when as_of falls inside the range

    def s(cond: str | None = None) -> str:
        return f"sum(n) FILTER (WHERE {cond})" if cond else "sum(n)"

    return f"""
  SELECT {unit_key(level)} AS unit_code,
    {s()} AS reported,
    {s(f"{closed} OR {p['due_passed']}")} AS due,
    {s(closed)} AS closed,
    {s(f"{closed} AND on_time")} AS closed_on_time,
    {s(f"NOT {closed} AND {p['due_passed']}")} AS open_overdue,
    {s(f"{p['responded']} OR {p['response_deadline_passed']}")} AS response_due,
    {s(f"{p['responded']} AND resp_in_time")} AS responded_in_time,
    {s(f"{closed} AND resolved IS NOT NULL")} AS rated_resolved,
    {s(f"{closed} AND resolved")} AS resolved,
    {s(f"{closed} AND sat IS NOT NULL")} AS rated_satisfaction,
    {s(f"{closed} AND sat")} AS satisfied,
    sum(close_seconds) FILTER (WHERE {closed}) AS close_seconds
  FROM {table}
  WHERE rm BETWEEN $m_first AND $m_last{where_b} AND {prefix_filter(prefix)}{_filters_sql(sel, params)}
  GROUP BY 1"""


def _facts_from_raw(level: str, prefix: str, sel: Selection, period: Period, params: dict) -> str:
    params.update({"start": period.start, "end": period.end, "as_of": period.as_of})
    closed = "(closed_at < $as_of)"
    due_passed = "(due_at < $as_of)"
    responded = "(responded_at < $as_of)"
    in_time = "(epoch(responded_at) - epoch(reported_at) <= $response_seconds)"
    deadline = f"({_response_deadline()} < $as_of)"

    def c(cond: str | None = None) -> str:
        return f"count(*) FILTER (WHERE {cond})" if cond else "count(*)"

    return f"""
  SELECT {unit_key(level)} AS unit_code,
    {c()} AS reported,
    {c(f"coalesce({closed}, FALSE) OR {due_passed}")} AS due,
    {c(closed)} AS closed,
    {c(f"{closed} AND closed_at <= due_at")} AS closed_on_time,
    {c(f"NOT coalesce({closed}, FALSE) AND {due_passed}")} AS open_overdue,
    {c(f"coalesce({responded}, FALSE) OR {deadline}")} AS response_due,
    {c(f"{responded} AND {in_time}")} AS responded_in_time,
    {c(f"{closed} AND resolved IS NOT NULL")} AS rated_resolved,
    {c(f"{closed} AND resolved")} AS resolved,
    {c(f"{closed} AND satisfaction IS NOT NULL")} AS rated_satisfaction,
    {c(f"{closed} AND satisfaction IN ('满意', '基本满意')")} AS satisfied,
    sum(epoch(closed_at) - epoch(reported_at)) FILTER (WHERE {closed}) AS close_seconds
  FROM issues
  WHERE reported_at >= $start AND reported_at < $end AND reported_at < $as_of
    AND {prefix_filter(prefix)}{_filters_sql(sel, params)}
  GROUP BY 1"""


def path_for(con: duckdb.DuckDBPyConnection, sel: Selection, period: Period) -> str:
    """"month" or "cap" (aggregate, exact) or "raw" (an as_of inside a month, the grid level)."""
    if sel.level == "grid" or len(sel.prefix()) == 15:
        return "raw"
    c = cap(con)
    if c is not None and period.as_of == c:
        return "cap"
    a = period.as_of
    if a == dt.datetime(a.year, a.month, 1):
        return "month"
    return "raw"


def query(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings: Settings,
          force_raw: bool = False) -> tuple[Query, Period]:
    """The SQL of the report for ``sel`` and the period it judges (for "show SQL")."""
    period = resolve(con, sel)
    prefix = sel.prefix()
    params: dict = {
        "response_seconds": float(settings.response_hours) * 3600.0,
        **settings.score_weights(),
    }
    mode = "raw" if force_raw else path_for(con, sel, period)
    if mode == "raw":
        facts = _facts_from_raw(sel.level, prefix, sel, period, params)
    else:
        facts = _facts_from_aggregate(sel.level, prefix, sel, period, mode, params)
        params.pop("response_seconds")
    q = rollup(sel.level, prefix, facts, COUNTS + ["close_seconds"], _DERIVED, params, KEYS)
    return q, period


def report(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings: Settings,
           force_raw: bool = False) -> pd.DataFrame:
    """Every key of 问题解决 for every unit of ``sel.level`` (units with no orders too: zero
    counts, null rates), ordered by code. Empty store: the rows of the level with zeros."""
    q, period = query(con, sel, settings=settings, force_raw=force_raw)
    df = q.run(con)
    df.attrs.update({"as_of": period.as_of, "first": period.first, "last": period.last})
    return df


# --- follow-up list ---------------------------------------------------------------------------


def overdue_orders(con: duckdb.DuckDBPyConnection, sel: Selection, *, limit: int = 5000) -> pd.DataFrame:
    """Open orders past due at as_of, oldest due first (for the 问题清单 and follow-up)."""
    period = resolve(con, sel)
    params = {"as_of": period.as_of, "start": period.start, "end": period.end,
              "prefix": sel.prefix(), "limit": limit}
    sql = f"""
SELECT i.issue_id, i.community_code, u.name AS community_name, i.grid_code, i.source, i.category,
       i.reported_at, i.due_at,
       round((epoch($as_of) - epoch(i.due_at)) / 86400.0, 1) AS overdue_days
FROM issues i LEFT JOIN units u ON u.code = i.community_code
WHERE i.reported_at >= $start AND i.reported_at < $end AND i.reported_at < $as_of
  AND NOT coalesce(i.closed_at < $as_of, FALSE) AND i.due_at < $as_of
  AND {prefix_filter(sel.prefix(), community_col="i.community_code", grid_col="i.grid_code")}
  {_filters_sql(sel, params, "i.")}
ORDER BY i.due_at, i.issue_id
LIMIT $limit"""
    return Query(sql, params).run(con)


def breakdown(con: duckdb.DuckDBPyConnection, sel: Selection, by: str, *,
              settings: Settings) -> pd.DataFrame:
    """受理量, 办结率, 满意率 … by ``source`` or ``category`` over the selection's units."""
    if by not in FILTERS:
        raise ValueError(by)
    period = resolve(con, sel)
    mode = path_for(con, sel.with_(level="city"), period)
    if mode == "raw":
        raise ValueError("分项统计只支持月初或数据截止时点")
    p = _agg_predicates(mode)
    closed = p["closed"]
    params = {"m_first": period.first, "m_last": period.last, "prefix": sel.prefix()}
    where_b = ""
    if mode == "month":
        params["b"] = period.as_of.year * 12 + period.as_of.month - 1
        where_b = " AND rm < $b"
    sql = f"""
SELECT {by} AS item,
  CAST(sum(n) AS BIGINT) AS reported,
  CAST(coalesce(sum(n) FILTER (WHERE {closed}), 0) AS BIGINT) AS closed,
  CAST(coalesce(sum(n) FILTER (WHERE NOT {closed} AND {p['due_passed']}), 0) AS BIGINT) AS open_overdue,
  {rate(f"coalesce(sum(n) FILTER (WHERE {closed}), 0)", f"coalesce(sum(n) FILTER (WHERE {closed} OR {p['due_passed']}), 0)")} AS close_rate,
  {rate(f"coalesce(sum(n) FILTER (WHERE {closed} AND sat), 0)", f"coalesce(sum(n) FILTER (WHERE {closed} AND sat IS NOT NULL), 0)")} AS satisfaction_rate
FROM {AGG_TABLE}
WHERE rm BETWEEN $m_first AND $m_last{where_b} AND {prefix_filter(sel.prefix())}{_filters_sql(sel, params)}
GROUP BY 1 ORDER BY reported DESC, item"""
    return Query(sql, params).run(con)
