"""问题解决: work orders — response, closure, on-time, resolution, satisfaction, backlog.

Two ways to the same numbers:

* the **aggregate path** (the pages' default): ``agg_issues_street`` is built at ingest.
  Every count of docs/contract/metrics.md is "orders reported in the range whose *entry month*
  into the count precedes the as_of month": an order enters 已办结 in the month it closed,
  应办结 in the earlier of the months it closed or fell due, 应响应 in the earlier of the
  months it was answered or passed its response deadline, and so on. With as_of on a month
  boundary B, "t < as_of" is exactly "month(t) < B", so a count is ``sum(col) WHERE e < B``
  over one row per street × report month × entry month with a column per count — a few rows
  per street and month, however many orders. The as_of cap (one second after the newest
  stored timestamp) is the other default as_of: every stored event has happened by then, and
  the two deadline comparisons are pre-computed as counts of their own. 超期未办结 is
  应办结 − 已办结 (due = closed, or not closed and past due).
* the same rows split by source (``agg_issues_street_source``) or by category
  (``agg_issues_street_category``) answer a filter on one of them at city, district and street
  level; community and grid rows, and a community or grid as the unit, read
  ``agg_issues_community`` and ``agg_issues_grid`` (``_aggregate_table`` says which);
* the **raw path** for the rare rest (source and category together; any filter at community
  or grid level; an as_of inside a month): the definitions applied row by row. Orders are
  stored sorted by report month and community, so a month and a unit prefix read only a few
  row groups.

Tests hold the two paths equal on random data, and both against hand-counted fixtures.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.contract.schema import SOURCES
from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.domains.common import Period, Report, prefix_filter, rate, rollup, unit_key
from metrics.query import Query, SplitParts, scalar
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
# The months its monthly extract describes (registry.month_range): the orders' report months.
MONTHS_SQL = f"SELECT min(rm) AS lo, max(rm) AS hi FROM {AGG_TABLE}"
# The raw table whose aggregates this domain builds at ingest (see ``aggregate_queries``).
AGGREGATES_FROM = "issues"
# The same counts split by source (five values), read when only that filter is set: a page
# filtered by source is then as fast as an unfiltered one (the raw path scans a month's
# orders).
AGG_DIMS_TABLE = "agg_issues_street_source"
AGG_DIMS = ("source",)
# The same counts split by category (free text: dozens of values), read when only that filter
# is set; stored by category, then report month, so a filter reads that category's row groups.
AGG_CATEGORY_TABLE = "agg_issues_street_category"
# Community and grid rows: grid × report month × entry month (orders without a grid in a row of
# their community with a NULL grid), and its sum by community. Stored by code, so a street's
# communities or a community's grids are a few neighbouring rows.
AGG_GRID_TABLE = "agg_issues_grid"
AGG_COMMUNITY_TABLE = "agg_issues_community"
# Near the size of the orders for grids (a grid has a few orders a month): these stay Parquet
# views (db.connect), read a few row groups at a time, rather than tables in memory.
AGGREGATE_VIEWS = (AGG_CATEGORY_TABLE, AGG_GRID_TABLE, AGG_COMMUNITY_TABLE)
CATEGORY_TABLE = "agg_issues_category"  # the categories and their counts (filter options)
# Count kinds of the aggregate (a column each); the entry month of each is in the docstring.
KIND = {"reported": 1, "due": 2, "closed": 3, "closed_on_time": 4, "response_due": 5,
        "responded_in_time": 6, "rated_resolved": 7, "resolved": 8, "rated_satisfaction": 9,
        "satisfied": 10, "due_at_cap": 11, "response_due_at_cap": 12}


def _mi(expr: str) -> str:
    """Month index of a timestamp expression (null stays null)."""
    return f"(year({expr}) * 12 + month({expr}) - 1)"


def _response_deadline(col: str = "reported_at") -> str:
    return f"({col} + to_microseconds(CAST(round($response_seconds * 1000000) AS BIGINT)))"


AGG_FORMAT = "street-entry-v5"  # change when the aggregate's shape changes: old ones are rebuilt


def aggregate_key(settings: Settings) -> str:
    return f"{AGG_FORMAT}|{settings.issues_key()}"


def aggregate_queries(source_sql: str, settings: Settings) -> dict[str, Query | SplitParts]:
    """The aggregates pages read, built at ingest from the stored orders.

    Each split aggregate is built one report month at a time (``_month_split``): a part reads
    only that month's row groups of the orders, so each aggregate costs one read of the orders
    in all, and one month's orders at a time stay well inside the ingest's memory. Street, by
    source: the street aggregate is its sum over sources; grid: the community aggregate is its
    sum over grids.
    """
    params = {"response_seconds": float(settings.response_hours) * 3600.0}
    categories = f"SELECT category, count(*) AS n FROM ({source_sql}) GROUP BY 1 ORDER BY 2 DESC, 1"
    # In this order: the street aggregate is the by-source one summed over sources (one scan
    # of the orders fewer), so it reads that table.
    by_month = _month_split(source_sql)
    return {AGG_DIMS_TABLE: SplitParts(
                by_month, Query(_month_part_sql(source_sql, STREET_KEYS + (("source", "source"),),
                                                cap=True), params),
                order_by=("rm", "street", "e", *AGG_DIMS)),
            AGG_TABLE: Query(_sum_over_sources()),
            AGG_CATEGORY_TABLE: SplitParts(
                by_month, Query(_month_part_sql(source_sql, STREET_KEYS + (("category", "category"),)),
                                params),
                order_by=("category", "rm", "street", "e")),
            AGG_GRID_TABLE: SplitParts(
                by_month, Query(_month_part_sql(source_sql, GRID_KEYS), params),
                order_by=("community_code", "grid_code", "rm", "e")),
            AGG_COMMUNITY_TABLE: Query(_sum_over_grids()),
            CATEGORY_TABLE: Query(categories)}


def _month_split(source_sql: str) -> Query:
    """One part per report month (its first and next instants), with the cap of every order:
    a part reads only that month's row groups of the orders."""
    return Query(f"""
WITH src AS ({source_sql})
SELECT m AS month_from, m + INTERVAL 1 MONTH AS month_to,
       (SELECT greatest(max(reported_at), coalesce(max(responded_at), max(reported_at)),
                        coalesce(max(closed_at), max(reported_at))) + INTERVAL 1 SECOND
        FROM src) AS cap
FROM (SELECT DISTINCT CAST(date_trunc('month', reported_at) AS TIMESTAMP) AS m FROM src)
ORDER BY m""")


def _sum_over_grids() -> str:
    return f"""
SELECT community_code, rm, e,
       {", ".join(f"CAST(sum({name}) AS INTEGER) AS {name}" for name in KIND)},
       sum(close_seconds) AS close_seconds
FROM {AGG_GRID_TABLE}
GROUP BY community_code, rm, e
ORDER BY community_code, rm, e"""


def _sum_over_sources() -> str:
    return f"""
SELECT street, rm, e,
       {", ".join(f"CAST(sum({name}) AS INTEGER) AS {name}" for name in KIND)},
       sum(close_seconds) AS close_seconds,
       max(cap) AS cap
FROM {AGG_DIMS_TABLE}
GROUP BY street, rm, e
ORDER BY rm, street, e"""


STREET_KEYS = (("street", "left(community_code, 9)"),)
GRID_KEYS = (("community_code", "community_code"), ("grid_code", "grid_code"))


def _month_part_sql(source_sql: str, keys: tuple[tuple[str, str], ...], *,
                    cap: bool = False) -> str:
    """One report month's part of an aggregate by ``keys`` (the orders reported in
    [$month_from, $month_to), judged against the bound $cap): one row per unit × report month
    × entry month with a column per count kind (KIND), each order's count in the row of the
    month it enters that count. An order gives one row for its report month with every count
    that enters then, and a row more for each event in a later month (closed, fell due,
    answered …) with that event's counts; they are summed once per unit, month and entry
    month. With ``cap``, the cap is a column too (the street aggregate keeps it)."""
    key_select = ", ".join(f"{expr} AS {name}" for name, expr in keys)
    key = ", ".join(name for name, _ in keys)

    # The counts entering at each event's month (NULL: never).
    closed = {"closed": "1", "closed_on_time": "CAST(coalesce(on_time, FALSE) AS INTEGER)",
              "rated_resolved": "CAST(resolved IS NOT NULL AS INTEGER)",
              "resolved": "CAST(coalesce(resolved, FALSE) AS INTEGER)",
              "rated_satisfaction": "CAST(sat IS NOT NULL AS INTEGER)",
              "satisfied": "CAST(coalesce(sat, FALSE) AS INTEGER)", "close_seconds": "s"}
    events = [
        ("rm", {"reported": "1",
                "due_at_cap": "CAST(cm IS NOT NULL OR coalesce(due_cap, FALSE) AS INTEGER)",
                "response_due_at_cap":
                    "CAST(rsm IS NOT NULL OR coalesce(rd_cap, FALSE) AS INTEGER)"}),
        ("due_e", {"due": "1"}),
        ("cm", closed),
        ("resp_e", {"response_due": "1"}),
        ("rit_e", {"responded_in_time": "1"}),
    ]
    # Most orders have every event in their report month: those give one row (e = rm) with
    # every count; an event in a later month adds a row with its own counts.

    def branch(e: str, own: dict[str, str]) -> str:
        if e == "rm":
            counts = {name: expr for _, cols in events for name, expr in cols.items()}
            conds = {name: ("TRUE" if ev == "rm" else f"{ev} = rm")
                     for ev, cols in events for name in cols}
            where = ""
        else:
            counts, conds = own, {name: "TRUE" for name in own}
            where = f" WHERE {e} IS NOT NULL AND {e} <> rm"
        cols = []
        for name in [*KIND, "close_seconds"]:
            if name not in counts:
                cols.append(("NULL::DOUBLE" if name == "close_seconds" else "0") + f" AS {name}")
            elif conds[name] == "TRUE":
                cols.append(f"{counts[name]} AS {name}")
            else:
                cols.append(f"CASE WHEN {conds[name]} THEN {counts[name]} END AS {name}")
        return f"SELECT {key}, rm, {e} AS e, {', '.join(cols)} FROM o{where}"

    branches = [branch(e, own) for e, own in events]
    union = "\n  UNION ALL ".join(branches)
    return f"""
WITH orders AS (
  SELECT
    {key_select},
    CAST({_mi("reported_at")} AS INTEGER) AS rm,
    CAST({_mi("closed_at")} AS INTEGER) AS cm,
    CAST({_mi("responded_at")} AS INTEGER) AS rsm,
    CAST({_mi("due_at")} AS INTEGER) AS dm,
    CAST({_mi(_response_deadline())} AS INTEGER) AS rdm,
    due_at < $cap AS due_cap,
    {_response_deadline()} < $cap AS rd_cap,
    closed_at <= due_at AS on_time,
    epoch(responded_at) - epoch(reported_at) <= $response_seconds AS in_time,
    resolved,
    CASE WHEN satisfaction IN ('满意', '基本满意') THEN TRUE
         WHEN satisfaction IS NOT NULL THEN FALSE END AS sat,
    epoch(closed_at) - epoch(reported_at) AS s
  FROM ({source_sql})
  WHERE reported_at >= $month_from AND reported_at < $month_to
),
o AS (
  SELECT *, least(coalesce(cm, dm), dm) AS due_e, least(coalesce(rsm, rdm), rdm) AS resp_e,
         CASE WHEN coalesce(in_time, FALSE) THEN rsm END AS rit_e
  FROM orders
),
entries AS (
  {union}
)
SELECT {key}, CAST(rm AS SMALLINT) AS rm, CAST(e AS SMALLINT) AS e,
       {", ".join(f"CAST(coalesce(sum({name}), 0) AS INTEGER) AS {name}" for name in KIND)},
       sum(close_seconds) AS close_seconds{", CAST($cap AS TIMESTAMP) AS cap" if cap else ""}
FROM entries
GROUP BY {key}, rm, e"""


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


def _filters_sql(sel: Selection, params: dict, alias: str = "", *, ranges: bool = False) -> str:
    """The filters as SQL; with ``ranges``, each also as a range from its smallest to its
    largest value, which Parquet statistics can use to skip row groups of an aggregate stored
    by that column (the IN list alone is a join, decided row by row)."""
    parts = []
    for name, values in sel.filters:
        if name not in FILTERS:
            continue  # other domains' filters do not narrow orders
        key = f"f_{name}"
        params[key] = list(values)
        if ranges and values:
            params[f"{key}_lo"], params[f"{key}_hi"] = min(values), max(values)
            parts.append(f"{alias}{name} BETWEEN ${key}_lo AND ${key}_hi")
        parts.append(f"{alias}{name} IN (SELECT unnest(${key}))")
    return "".join(f" AND {p}" for p in parts)


def _aggregate_table(level: str, prefix: str, sel: Selection) -> str | None:
    """The aggregate a report of ``sel`` reads, None for the raw path.

    City, district and street rows under a street or larger read the street aggregate, split
    by source or by category when that one filter is set; community and grid rows, and a
    community or grid selected as the unit, read the community or the grid aggregate when no
    filter is set. A filter at community or grid level, or source and category together, stay
    on the raw path: each would need one more aggregate near the size of the orders, and the
    orders are stored by month and community, so those reads prune to a few row groups."""
    names = {name for name, _ in sel.filters if name in FILTERS}
    if level in ("community", "grid") or len(prefix) > 9:
        if names:
            return None
        return AGG_GRID_TABLE if level == "grid" or len(prefix) > 12 else AGG_COMMUNITY_TABLE
    if not names:
        return AGG_TABLE
    if names == {"source"}:
        return AGG_DIMS_TABLE
    if names == {"category"}:
        return AGG_CATEGORY_TABLE
    return None


def _facts_from_aggregate(level: str, prefix: str, sel: Selection, period: Period, mode: str,
                          params: dict) -> str:
    """Counts per unit from the aggregate ``_aggregate_table`` names; ``mode`` "month" judges
    at the month boundary $b, "cap" at the cap (every stored event has happened)."""
    table = _aggregate_table(level, prefix, sel)
    filtered = _filters_sql(sel, params, ranges=table == AGG_CATEGORY_TABLE)
    where, due = _aggregate_period(period, mode, params)
    response_due = "response_due" if mode == "month" else "response_due_at_cap"
    if table in (AGG_GRID_TABLE, AGG_COMMUNITY_TABLE):
        key = unit_key(level)
        unit = _prefix_range(prefix, params)
    else:
        key = unit_key(level, community_col="street")
        unit = _prefix_range(prefix, params, col="street")
    return f"""
  SELECT {key} AS unit_code,
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
  WHERE rm BETWEEN $m_first AND $m_last{where} AND {unit}{filtered}
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


def _period_mode(period: Period) -> str:
    """"cap" (as_of is the cap), "month" (as_of on a month boundary) or "raw" (inside one)."""
    c = period.cap
    if c is not None and period.as_of == c:
        return "cap"
    a = period.as_of
    if a == dt.datetime(a.year, a.month, 1):
        return "month"
    return "raw"


def path_for(con: duckdb.DuckDBPyConnection, sel: Selection, period: Period) -> str:
    """"month" or "cap" (aggregate, exact) or "raw"."""
    if _aggregate_table(sel.level, sel.prefix(), sel) is None:
        return "raw"
    return _period_mode(period)


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
           force_raw: bool = False) -> Report:
    """Every key of 问题解决 for every unit of ``sel.level`` (units with no orders too: zero
    counts, null rates), ordered by code. Empty store: the rows of the level with zeros."""
    q, period = query(con, sel, settings=settings, force_raw=force_raw)
    return Report.of(q.run(con), period)


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
    """受理量, 办结率, 满意率 … by ``source`` or ``category`` over the selection's unit: from
    the street aggregate split by that column when the unit is a street or larger and no
    other filter is set, else from the orders."""
    if by not in FILTERS:
        raise ValueError(by)
    period = resolve(con, sel)
    names = {name for name, _ in sel.filters if name in FILTERS}
    table = {"source": AGG_DIMS_TABLE, "category": AGG_CATEGORY_TABLE}[by]
    aggregated = len(sel.prefix()) <= 9 and names <= {by}
    mode = "raw" if force_raw or not aggregated else _period_mode(period)
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
FROM {table}
WHERE rm BETWEEN $m_first AND $m_last{where} AND {_prefix_range(sel.prefix(), params, col="street")}{
    _filters_sql(sel, params, ranges=table == AGG_CATEGORY_TABLE)}
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


def filter_options(con: duckdb.DuckDBPyConnection, name: str, *,
                   scope: str | None = None) -> list[str]:
    """The values a page offers for filter ``name``: the contract's sources in its order; the
    categories (free text) as the orders have them, most orders first — from the aggregate built
    at ingest, so the list costs no scan of the orders (and is the whole city's for any scope:
    a category's name says nothing about a unit)."""
    if name == "source":
        return list(SOURCES)
    if name != "category":
        raise ValueError(name)
    df = Query(f"SELECT category FROM {CATEGORY_TABLE} ORDER BY n DESC, category").run(con)
    return list(df["category"])
