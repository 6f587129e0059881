"""问题解决: work orders — response, closure, on-time, resolution, satisfaction, backlog.

Two ways to the same numbers:

* the **aggregate path** (city, district and street rows, the pages' default):
  ``agg_issues_street`` is built at ingest. Every count of docs/contract/metrics.md is "orders
  reported in the range whose *entry month* into the count precedes the as_of month": an order
  enters 已办结 in the month it closed, 应办结 in the earlier of the months it closed or fell
  due, 应响应 in the earlier of the months it was answered or passed its response deadline, and
  so on. With as_of on a month boundary B, "t < as_of" is exactly "month(t) < B", so a count is
  ``sum(n) FILTER (k = … AND e < B)`` over one row per street × report month × count kind ×
  entry month — about 25 rows per street and month, however many orders. The as_of cap (one
  second after the newest stored timestamp) is the other default as_of: every stored event has
  happened by then, and the two deadline comparisons are pre-computed as counts of their own.
  超期未办结 is 应办结 − 已办结 (due = closed, or not closed and past due).
* with a source filter the same counts come from ``agg_issues_street_source``, also split by
  source;
* the **raw path** for the rest (community and grid rows, a category filter, an as_of inside a
  month): the definitions applied row by row. Orders are stored sorted by report month
  and community, so a month and a unit prefix read only a few row groups.

Tests hold the two paths equal on random data, and both against hand-counted fixtures.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.contract.schema import SOURCES
from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.domains.common import Period, prefix_filter, rate, rollup, unit_key
from metrics.query import Parts, Query, scalar
from metrics.query import row as fetch_row
from metrics.selection import Selection, month_start
from metrics.settings import Settings

KEYS = DOMAIN_KEYS["issues"]
COUNTS = [k for k in KEYS if METRICS[k].kind == "count"]
SATISFIED = ("满意", "基本满意")
TABLES = ("units", "issues", "targets")  # what a report reads (cache keys)
LEVELS = ("city", "district", "street", "community", "grid")
FILTERS = ("source", "category")

AGG_TABLE = "agg_issues_street"
# The raw table whose aggregates this domain builds at ingest (see ``aggregate_queries``).
AGGREGATES_FROM = "issues"
# The same counts split by source (five values), read when only that filter is set: a page
# filtered by source is then as fast as an unfiltered one (the raw path scans a month's
# orders). Category (free text, dozens of values) stays on the raw path: split by it too, the
# aggregate would grow towards the size of the orders.
AGG_DIMS_TABLE = "agg_issues_street_source"
AGG_DIMS = ("source",)
# Each its own part when the aggregate is built (fewer, larger parts ran out of memory).
SOURCE_PARTS = SOURCES[:-1]
CATEGORY_TABLE = "agg_issues_category"
# Count kinds of the aggregate (a column each); the entry month of each is in the docstring.
KIND = {"reported": 1, "due": 2, "closed": 3, "closed_on_time": 4, "response_due": 5,
        "responded_in_time": 6, "rated_resolved": 7, "resolved": 8, "rated_satisfaction": 9,
        "satisfied": 10, "due_at_cap": 11, "response_due_at_cap": 12}


def _mi(expr: str) -> str:
    """Month index of a timestamp expression (null stays null)."""
    return f"(year({expr}) * 12 + month({expr}) - 1)"


def _response_deadline(col: str = "reported_at") -> str:
    return f"({col} + to_microseconds(CAST(round($response_seconds * 1000000) AS BIGINT)))"


AGG_FORMAT = "street-entry-v4"  # change when the aggregate's shape changes: old ones are rebuilt


def aggregate_key(settings: Settings) -> str:
    return f"{AGG_FORMAT}|{settings.issues_key()}"


def aggregate_queries(source_sql: str, settings: Settings) -> dict[str, Query | Parts]:
    """The aggregates pages read, built at ingest from the stored orders.

    One scan groups the orders by street, report month and the months of their events (a few
    million rows for a province); the entry rows are unpivoted from that small intermediate.
    """
    params = {"response_seconds": float(settings.response_hours) * 3600.0}
    categories = f"SELECT category, count(*) AS n FROM ({source_sql}) GROUP BY 1 ORDER BY 2 DESC, 1"
    # In this order: the street aggregate is the by-source one summed over sources (one scan
    # of the orders fewer), so it reads that table.
    return {AGG_DIMS_TABLE: _dims_aggregate_parts(source_sql, params),
            AGG_TABLE: Query(_sum_over_sources()),
            CATEGORY_TABLE: Query(categories)}


def _dims_aggregate_parts(source_sql: str, params: dict) -> Parts:
    """``agg_issues_street_source`` in parts built one after another: the grouped intermediate
    of every order at once, split by source, did not fit in the ingest's memory for 10 million
    orders. Each source but the last gets a part, the last part takes every other value (and
    none), so the parts hold every order; each part is a scan of the orders."""
    parts = [Query(_aggregate_sql(source_sql, AGG_DIMS, part=i), {**params, f"source_{i}": [v]})
             for i, v in enumerate(SOURCE_PARTS)]
    rest = len(SOURCE_PARTS)
    parts.append(Query(_aggregate_sql(source_sql, AGG_DIMS, part=rest, last=True),
                       {**params, f"source_{rest}": list(SOURCE_PARTS)}))
    return Parts(parts, order_by=("rm", "street", "e", *AGG_DIMS))


def _sum_over_sources() -> str:
    return f"""
SELECT street, rm, e,
       {", ".join(f"CAST(sum({name}) AS INTEGER) AS {name}" for name in KIND)},
       sum(close_seconds) AS close_seconds,
       max(cap) AS cap
FROM {AGG_DIMS_TABLE}
GROUP BY street, rm, e
ORDER BY rm, street, e"""


# Each count kind's entry month and the condition for an order group to count there (over the
# grouped orders ``base`` below). One pass over ``base`` crossed with the kinds: twelve UNION ALL
# branches reading it made DuckDB hold all of it in memory (a materialized CTE), which for 50
# million orders did not fit in the ingest's 1 GB.
_ENTRIES = {
    "reported": ("rm", "TRUE"),
    "due": ("least(coalesce(cm, dm), dm)", "TRUE"),
    "closed": ("cm", "cm IS NOT NULL"),
    "closed_on_time": ("cm", "cm IS NOT NULL AND on_time"),
    "response_due": ("least(coalesce(rsm, rdm), rdm)", "TRUE"),
    "responded_in_time": ("rsm", "rsm IS NOT NULL AND in_time"),
    "rated_resolved": ("cm", "cm IS NOT NULL AND resolved IS NOT NULL"),
    "resolved": ("cm", "cm IS NOT NULL AND resolved"),
    "rated_satisfaction": ("cm", "cm IS NOT NULL AND sat IS NOT NULL"),
    "satisfied": ("cm", "cm IS NOT NULL AND sat"),
    "due_at_cap": ("rm", "cm IS NOT NULL OR due_cap"),
    "response_due_at_cap": ("rm", "rsm IS NOT NULL OR rd_cap"),
}


def _aggregate_sql(source_sql: str, dims: tuple[str, ...] = (), part: int | None = None,
                   last: bool = False) -> str:
    """Street × report month × entry month (× ``dims``) with a column per count kind; with
    ``part``, only the orders whose source is in ``$source_<part>``, or with ``last`` every
    order whose source is not (the cap is always that of every order)."""
    k = KIND
    d = "".join(f", {c}" for c in dims)
    if part is None:
        only = ""
    elif not last:
        only = f" WHERE list_contains($source_{part}, source)"
    else:
        only = f" WHERE source IS NULL OR NOT list_contains($source_{part}, source)"
    sql = f"""
WITH src AS ({source_sql}),
part AS (SELECT * FROM src{only}),
cap AS (
  SELECT greatest(max(reported_at), coalesce(max(responded_at), max(reported_at)),
                  coalesce(max(closed_at), max(reported_at))) + INTERVAL 1 SECOND AS cap
  FROM src
),
base AS (
  SELECT
    left(community_code, 9) AS street{d},
    CAST({_mi("reported_at")} AS INTEGER) AS rm,
    CAST({_mi("closed_at")} AS INTEGER) AS cm,
    CAST({_mi("responded_at")} AS INTEGER) AS rsm,
    CAST({_mi("due_at")} AS INTEGER) AS dm,
    CAST({_mi(_response_deadline())} AS INTEGER) AS rdm,
    due_at < (SELECT cap FROM cap) AS due_cap,
    {_response_deadline()} < (SELECT cap FROM cap) AS rd_cap,
    closed_at <= due_at AS on_time,
    epoch(responded_at) - epoch(reported_at) <= $response_seconds AS in_time,
    resolved,
    CASE WHEN satisfaction IN ('满意', '基本满意') THEN TRUE
         WHEN satisfaction IS NOT NULL THEN FALSE END AS sat,
    count(*) AS n,
    sum(epoch(closed_at) - epoch(reported_at)) AS s
  FROM part
  GROUP BY ALL
),
entries AS (
  SELECT street, rm{d}, kinds.k AS k,
         CASE kinds.k {" ".join(f"WHEN {k[name]} THEN {e}" for name, (e, _) in _ENTRIES.items())} END AS e,
         n, CASE WHEN kinds.k = {k["closed"]} THEN s END AS s
  FROM base CROSS JOIN (VALUES {", ".join(f"({v})" for v in k.values())}) AS kinds(k)
  WHERE CASE kinds.k {" ".join(f"WHEN {k[name]} THEN {c}" for name, (_, c) in _ENTRIES.items())} END
)
SELECT street, CAST(rm AS SMALLINT) AS rm, CAST(e AS SMALLINT) AS e{d},
       {", ".join(f"CAST(coalesce(sum(n) FILTER (WHERE k = {v}), 0) AS INTEGER) AS {name}"
                  for name, v in k.items())},
       sum(s) FILTER (WHERE k = {k["closed"]}) AS close_seconds,
       (SELECT cap FROM cap) AS cap
FROM entries
GROUP BY street, rm, e{d}
ORDER BY rm, street, e{d}"""
    return sql


# --- as_of ------------------------------------------------------------------------------------


def cap(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """One second after the newest stored timestamp: a running month is judged as the extract
    saw it."""
    return scalar(con, f"SELECT max(cap) FROM {AGG_TABLE}")


def latest(con: duckdb.DuckDBPyConnection) -> int | None:
    """The latest month with orders."""
    v = scalar(con, f"SELECT max(rm) FROM {AGG_TABLE}")
    return None if v is None else int(v)


def resolve(con: duckdb.DuckDBPyConnection, sel: Selection) -> Period:
    """Months, as_of and the cap of a selection, from one look at the aggregate."""
    row = fetch_row(con, f"SELECT max(rm), max(cap) FROM {AGG_TABLE}")
    newest, c = (None, None) if row is None else (row[0], row[1])
    first, last = sel.months(None if newest is None else int(newest))
    if sel.as_of is not None:
        as_of = sel.as_of
    else:
        as_of = month_start(last + 1)
        if c is not None and c < as_of:
            as_of = c
    return Period(first, last, as_of, c)


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


def _facts_from_aggregate(level: str, prefix: str, sel: Selection, period: Period, mode: str,
                          params: dict) -> str:
    """Counts per unit from the street aggregate (split by source and category when those
    filters are set); ``mode`` "month" judges at the month boundary $b, "cap" at the cap (every
    stored event has happened)."""
    filtered = _filters_sql(sel, params)
    table = AGG_DIMS_TABLE if filtered else AGG_TABLE  # path_for: a source filter at most
    where, due = _aggregate_period(period, mode, params)
    response_due = "response_due" if mode == "month" else "response_due_at_cap"
    return f"""
  SELECT {unit_key(level, community_col="street")} AS unit_code,
    sum(reported) AS reported,
    sum({due}) AS due,
    sum(closed) AS closed,
    sum(closed_on_time) AS closed_on_time,
    sum({due}) - sum(closed) AS open_overdue,
    sum({response_due}) AS response_due,
    sum(responded_in_time) AS responded_in_time,
    sum(rated_resolved) AS rated_resolved,
    sum(resolved) AS resolved,
    sum(rated_satisfaction) AS rated_satisfaction,
    sum(satisfied) AS satisfied,
    sum(close_seconds) AS close_seconds
  FROM {table}
  WHERE rm BETWEEN $m_first AND $m_last{where} AND starts_with(street, $prefix){filtered}
  GROUP BY 1"""


def _aggregate_period(period: Period, mode: str, params: dict) -> tuple[str, str]:
    """The aggregate rows of the period (a WHERE tail) and its 应办结 column: at a month
    boundary $b, rows reported before it (when as_of falls inside the range) and entered
    before it; at the cap, every row with the pre-computed deadline counts."""
    params.update({"m_first": period.first, "m_last": period.last})
    if mode == "month":
        params["b"] = period.as_of.year * 12 + period.as_of.month - 1
        return " AND rm < $b AND e < $b", "due"
    return "", "due_at_cap"


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
    AND {_prefix_range(prefix, params)}{_filters_sql(sel, params)}
  GROUP BY 1"""


def _prefix_range(prefix: str, params: dict, col: str = "community_code",
                  grid_col: str = "grid_code") -> str:
    """The unit filter, also as a range on community_code so Parquet statistics skip the row
    groups of other units (orders are stored by report month, then community)."""
    cond = prefix_filter(prefix, community_col=col, grid_col=grid_col)
    if not prefix:
        return cond
    params["prefix_lo"] = prefix[:12]
    params["prefix_hi"] = prefix[:12] + "~"  # '~' sorts after every digit
    return f"{col} >= $prefix_lo AND {col} < $prefix_hi AND {cond}"


def path_for(con: duckdb.DuckDBPyConnection, sel: Selection, period: Period) -> str:
    """"month" or "cap" (aggregate, exact) or "raw"."""
    if sel.level in ("community", "grid") or len(sel.prefix()) > 9:
        return "raw"
    if any(name in FILTERS and name not in AGG_DIMS for name, _ in sel.filters):
        return "raw"
    c = period.cap
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


FOLLOW_UPS = ("overdue_orders",)


def follow_up(con: duckdb.DuckDBPyConnection, sel: Selection, which: str, *,
              settings: Settings | None = None, limit: int = 5000) -> pd.DataFrame:
    """The follow-up list ``which`` (one of FOLLOW_UPS): see ``overdue_orders``."""
    if which not in FOLLOW_UPS:
        raise ValueError(which)
    return overdue_orders(con, sel, limit=limit)


def overdue_orders(con: duckdb.DuckDBPyConnection, sel: Selection, *, limit: int = 5000) -> pd.DataFrame:
    """Open orders past due at as_of, oldest due first (for the 问题清单 and follow-up), with
    their district and street. ``overdue_days`` is whole days: any part of a day past due_at
    counts as a day (due 10-25 10:00, as_of 11-01 00:00 → 7)."""
    period = resolve(con, sel)
    params = {"as_of": period.as_of, "start": period.start, "end": period.end, "limit": limit,
              "prefix": sel.prefix()}
    where_unit = _prefix_range(sel.prefix(), params, "i.community_code", "i.grid_code")
    sql = f"""
SELECT i.issue_id, left(i.community_code, 6) AS district_code, d.name AS district_name,
       left(i.community_code, 9) AS street_code, s.name AS street_name,
       i.community_code, u.name AS community_name, i.grid_code, i.source, i.category,
       i.reported_at, i.due_at,
       CAST(ceil((epoch($as_of) - epoch(i.due_at)) / 86400.0) AS INTEGER) AS overdue_days
FROM issues i LEFT JOIN units u ON u.code = i.community_code
LEFT JOIN units s ON s.code = left(i.community_code, 9)
LEFT JOIN units d ON d.code = left(i.community_code, 6)
WHERE i.reported_at >= $start AND i.reported_at < $end AND i.reported_at < $as_of
  AND NOT coalesce(i.closed_at < $as_of, FALSE) AND i.due_at < $as_of
  AND {where_unit}{_filters_sql(sel, params, "i.")}
ORDER BY i.due_at, i.issue_id
LIMIT $limit"""
    return Query(sql, params).run(con)


def breakdown(con: duckdb.DuckDBPyConnection, sel: Selection, by: str, *,
              settings: Settings, force_raw: bool = False) -> pd.DataFrame:
    """受理量, 办结率, 满意率 … by ``source`` or ``category`` over the selection's units; by
    source from ``agg_issues_street_source`` where the report itself would read an aggregate."""
    if by not in FILTERS:
        raise ValueError(by)
    period = resolve(con, sel)
    mode = "raw" if force_raw or by not in AGG_DIMS else path_for(con, sel, period)
    params: dict = {"prefix": sel.prefix()}
    if mode != "raw":
        where, due = _aggregate_period(period, mode, params)
        sql = f"""
SELECT {by} AS item,
  CAST(sum(reported) AS BIGINT) AS reported,
  CAST(sum(closed) AS BIGINT) AS closed,
  CAST(sum({due}) - sum(closed) AS BIGINT) AS open_overdue,
  {rate("sum(closed)", f"sum({due})")} AS close_rate,
  {rate("sum(satisfied)", "sum(rated_satisfaction)")} AS satisfaction_rate
FROM {AGG_DIMS_TABLE}
WHERE rm BETWEEN $m_first AND $m_last{where} AND starts_with(street, $prefix){_filters_sql(sel, params)}
GROUP BY 1 ORDER BY reported DESC, item"""
        return Query(sql, params).run(con)
    params.update({"start": period.start, "end": period.end, "as_of": period.as_of})
    closed = "coalesce(closed_at < $as_of, FALSE)"
    due = f"({closed} OR due_at < $as_of)"
    sql = f"""
SELECT {by} AS item,
  count(*) AS reported,
  count(*) FILTER (WHERE {closed}) AS closed,
  count(*) FILTER (WHERE NOT {closed} AND due_at < $as_of) AS open_overdue,
  {rate(f"count(*) FILTER (WHERE {closed})", f"count(*) FILTER (WHERE {due})")} AS close_rate,
  {rate(f"count(*) FILTER (WHERE {closed} AND satisfaction IN ('满意', '基本满意'))",
        f"count(*) FILTER (WHERE {closed} AND satisfaction IS NOT NULL)")} AS satisfaction_rate
FROM issues
WHERE reported_at >= $start AND reported_at < $end AND reported_at < $as_of
  AND {_prefix_range(sel.prefix(), params)}{_filters_sql(sel, params)}
GROUP BY 1 ORDER BY reported DESC, item"""
    return Query(sql, params).run(con)
