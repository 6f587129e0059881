"""重点任务督办: the 重点任务 and 民生项目 a 推进会 assigns, each with its 责任单位, 完成时限 and
检验标准 (table tasks).

The ledger is small (hundreds of rows, thousands for a province), so reports read it directly.
Its semantics are those of the co-building projects: a date d has happened when d < the date of
as_of; done = completed_on has happened; on time = completed_on ≤ due_on; 已终止 tasks leave
every count.

A task belongs to a district or a street (``unit_code``), or to the whole city (empty). A
district counts its own tasks and its streets'; a street only its own; a whole-city task counts
in the city total only — and, like every task, for its 责任单位 (``owner``). The owner ranking is
a level of its own, ``OWNER_LEVEL``: one row per 责任单位 (unit_code and unit_name both the
owner's name), over the tasks under the selection's unit.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.contract.schema import TASK_KINDS
from metrics.definitions import DOMAIN_KEYS
from metrics.domains.common import Period, Report, latest_month, level_units_sql, rate
from metrics.query import Query
from metrics.selection import Selection, SelectionError, month_start
from metrics.settings import Settings

KEYS = DOMAIN_KEYS["tasks"]
COUNTS = ["tasks", "tasks_due", "tasks_done", "tasks_done_on_time", "tasks_overdue",
          "tasks_due_soon"]
TABLES = ("units", "tasks", "targets")  # what a report reads (cache keys)
# A ledger of plans with no month of its own: it adds no months to registry.month_range.
MONTHS_SQL = None
FILTERS = ("kind", "owner")
GROUPS = FILTERS  # the report per filter value: 任务类别, and 责任单位 (the owner ranking)
OWNER_LEVEL = "owner"
LEVELS = ("city", "district", "street")  # geographic levels; OWNER_LEVEL besides

DONE = "(t.completed_on IS NOT NULL AND t.completed_on < $as_of_date)"
DUE_PASSED = "(t.due_on < $as_of_date)"
OVERDUE = f"(NOT {DONE} AND {DUE_PASSED})"
DUE_SOON = f"(NOT {DONE} AND NOT {DUE_PASSED} AND t.due_on < $soon_date)"
# Under the selection's unit: a whole-city task (no unit_code) only when the prefix is ''.
IN_PREFIX = "starts_with(coalesce(t.unit_code, ''), $prefix)"
# The unit of a task at each geographic level; a task above the level belongs to no row of it.
UNIT_OF = {
    "city": ("CAST(NULL AS VARCHAR)", "TRUE"),
    "district": ("left(t.unit_code, 6)", "t.unit_code IS NOT NULL"),
    "street": ("t.unit_code", "length(t.unit_code) = 9"),
}


def latest(con: duckdb.DuckDBPyConnection) -> int | None:
    """The month of the newest completion that has happened (the ledger has no month of its
    own; a completion is the latest news it carries); a ledger without one: the last whole
    month before today. None for an empty ledger. Due dates are plans and never count."""
    m = latest_month(con, "SELECT max(completed_on) FROM tasks WHERE completed_on <= current_date")
    if m is None:
        any_row = latest_month(con, "SELECT max(due_on) FROM tasks")
        if any_row is not None:
            today = dt.date.today()
            m = today.year * 12 + today.month - 2
    return m


def resolve(con: duckdb.DuckDBPyConnection, sel: Selection) -> Period:
    first, last = sel.months(latest(con))
    return Period(first, last, sel.as_of or month_start(last + 1))


def _due_soon_days(settings: Settings | None) -> int:
    return int((settings or Settings()).task_due_soon_days)


def _params(period: Period, settings: Settings | None, prefix: str) -> dict:
    as_of_date = period.as_of.date()
    return {"as_of_date": as_of_date,
            "soon_date": as_of_date + dt.timedelta(days=_due_soon_days(settings)),
            "prefix": prefix}


def _filters(sel: Selection, params: dict) -> str:
    f = sel.filter_dict()
    cond = ""
    if "kind" in f:
        params["f_kind"] = list(f["kind"])
        cond += " AND t.kind IN (SELECT unnest($f_kind))"
    if "owner" in f:
        params["f_owner"] = list(f["owner"])
        cond += " AND t.owner IN (SELECT unnest($f_owner))"
    return cond


def _facts(unit_sql: str, where: str, cond: str) -> str:
    return f"""
  SELECT {unit_sql} AS unit_code,
    count(*) AS tasks,
    count(*) FILTER (WHERE {DONE} OR {DUE_PASSED}) AS tasks_due,
    count(*) FILTER (WHERE {DONE}) AS tasks_done,
    count(*) FILTER (WHERE {DONE} AND t.completed_on <= t.due_on) AS tasks_done_on_time,
    count(*) FILTER (WHERE {OVERDUE}) AS tasks_overdue,
    max(date_diff('day', t.due_on, $as_of_date)) FILTER (WHERE {OVERDUE}) AS max_overdue_days,
    count(*) FILTER (WHERE {DUE_SOON}) AS tasks_due_soon
  FROM tasks t
  WHERE t.status <> '已终止' AND {IN_PREFIX} AND {where}{cond}
  GROUP BY 1"""


def _select(rows_sql: str, facts_sql: str, *, order: str = "unit_code NULLS FIRST") -> str:
    derived = {
        "task_completion_rate": rate("tasks_done", "tasks"),
        "task_on_time_rate": rate("tasks_done_on_time", "tasks_due"),
    }
    cols = [f"CAST(coalesce(f.{c}, 0) AS BIGINT) AS {c}" for c in COUNTS]
    cols.append("CAST(f.max_overdue_days AS BIGINT) AS max_overdue_days")  # null: none overdue
    out = [derived.get(k, k) + (f" AS {k}" if k in derived else "") for k in KEYS]
    return f"""
WITH facts AS ({facts_sql}
),
level_units AS ({rows_sql}),
joined AS (
  SELECT u.*, {", ".join(cols)}
  FROM level_units u LEFT JOIN facts f ON f.unit_code IS NOT DISTINCT FROM u.unit_code
)
SELECT unit_code, unit_name, {", ".join(out)}
FROM joined
ORDER BY {order}
"""


def query(con: duckdb.DuckDBPyConnection, sel: Selection, *,
          settings: Settings | None = None) -> tuple[Query, Period]:
    """The report's SQL for a geographic level (city, district, street)."""
    if sel.level not in LEVELS:
        raise SelectionError(f"重点任务督办只到街道层级(可用：{'/'.join(LEVELS)}，或责任单位)")
    period = resolve(con, sel)
    prefix = sel.prefix()
    params = _params(period, settings, prefix)
    cond = _filters(sel, params)
    unit_sql, where = UNIT_OF[sel.level]
    if sel.level != "city":
        params["level"] = sel.level
    sql = _select(level_units_sql(sel.level), _facts(unit_sql, where, cond))
    return Query(sql, params), period


def grouped_query(con: duckdb.DuckDBPyConnection, sel: Selection, by: str, *,
                  settings: Settings | None = None) -> tuple[Query, Period]:
    """The report's SQL with one row per 责任单位 (``by="owner"``) or per 任务类别 (``"kind"``)
    instead of per unit, over the tasks under the selection's unit (``sel.level`` is not used).

    Owner rows: every owner with a task under the unit, whatever its status or kind, so a kind
    filter leaves the rows in place (an owner filter keeps only those owners); ordered by name.
    Kind rows: the three kinds of the contract, in its order."""
    if by not in GROUPS:
        raise ValueError(by)
    period = resolve(con, sel)
    params = _params(period, settings, sel.prefix())
    cond = _filters(sel, params)
    if by == "owner":
        owner_cond = " AND t.owner IN (SELECT unnest($f_owner))" if "f_owner" in params else ""
        rows = ("SELECT DISTINCT t.owner AS unit_code, t.owner AS unit_name FROM tasks t "
                f"WHERE {IN_PREFIX}{owner_cond}")
        order = "unit_code"
    else:
        rows = ("SELECT k AS unit_code, k AS unit_name, i AS _order FROM (SELECT unnest($kinds) AS k, "
                "generate_subscripts($kinds, 1) AS i)")
        params["kinds"] = list(TASK_KINDS)
        order = "_order"
    sql = _select(rows, _facts(f"t.{by}", "TRUE", cond), order=order)
    return Query(sql, params), period


def report(con: duckdb.DuckDBPyConnection, sel: Selection, *,
           settings: Settings | None = None) -> Report:
    """Every key of 重点任务督办 per unit of ``sel.level`` (city, district or street). Units
    without tasks: zero counts, null rates and null ``max_overdue_days``; an empty ledger the
    same for every unit."""
    q, period = query(con, sel, settings=settings)
    return Report.of(q.run(con), period)


def owner_report(con: duckdb.DuckDBPyConnection, sel: Selection, *,
                 settings: Settings | None = None) -> Report:
    """Every key per 责任单位 (unit_code = unit_name = the owner), ordered by name; see
    ``grouped_query``. No tasks under the unit: no rows."""
    q, period = grouped_query(con, sel, "owner", settings=settings)
    return Report.of(q.run(con), period)


# --- the 督办清单 ---------------------------------------------------------------------------

LIST_COLUMNS = ("task_id", "title", "kind", "owner", "unit_code", "unit_name", "district_code",
                "district_name", "street_code", "street_name", "due_on", "status", "progress",
                "acceptance", "state", "overdue_days", "days_left")
# The follow-up lists a page, the 通报 workbook and the deck show: the two parts of the 督办清单.
FOLLOW_UPS = ("tasks_overdue", "tasks_due_soon")


def supervision_list(con: duckdb.DuckDBPyConnection, sel: Selection, *,
                     settings: Settings | None = None, limit: int = 5000) -> pd.DataFrame:
    """The 督办清单: tasks not done that are overdue (state 逾期, most overdue first, with
    ``overdue_days`` = date(as_of) − due_on) or due within ``task_due_soon_days`` (state 临期,
    soonest first, with ``days_left`` = due_on − date(as_of); 0 = due on the as_of date).
    Terminated tasks never appear; a whole-city task has no unit_code, and unit_name and
    district_name 全市. Every row names its 区县 and 街道 (no 街道 above a street); the day counts
    are whole days, null on the rows of the other state."""
    period = resolve(con, sel)
    params = _params(period, settings, sel.prefix())
    params["limit"] = limit
    cond = _filters(sel, params)
    sql = f"""
SELECT t.task_id, t.title, t.kind, t.owner, t.unit_code,
       CASE WHEN t.unit_code IS NULL THEN '全市' ELSE u.name END AS unit_name,
       left(t.unit_code, 6) AS district_code,
       CASE WHEN t.unit_code IS NULL THEN '全市' ELSE du.name END AS district_name,
       CASE WHEN length(t.unit_code) >= 9 THEN left(t.unit_code, 9) END AS street_code,
       su.name AS street_name,
       t.due_on, t.status, t.progress, t.acceptance,
       CASE WHEN {OVERDUE} THEN '逾期' ELSE '临期' END AS state,
       CASE WHEN {OVERDUE} THEN date_diff('day', t.due_on, $as_of_date) END AS overdue_days,
       CASE WHEN {DUE_SOON} THEN date_diff('day', $as_of_date, t.due_on) END AS days_left
FROM tasks t LEFT JOIN units u ON u.code = t.unit_code
LEFT JOIN units du ON du.code = left(t.unit_code, 6)
LEFT JOIN units su ON length(t.unit_code) >= 9 AND su.code = left(t.unit_code, 9)
WHERE t.status <> '已终止' AND ({OVERDUE} OR {DUE_SOON}) AND {IN_PREFIX}{cond}
ORDER BY {OVERDUE} DESC, t.due_on, t.task_id
LIMIT $limit"""
    df = Query(sql, params).run(con)
    for c in ("overdue_days", "days_left"):  # whole days, never 32.0
        df[c] = df[c].astype("Int64")
    return df


def follow_up(con: duckdb.DuckDBPyConnection, sel: Selection, which: str, *,
              settings: Settings | None = None, limit: int = 5000) -> pd.DataFrame:
    """``tasks_overdue`` (超期任务) or ``tasks_due_soon`` (临期任务): a part of the 督办清单."""
    if which == "tasks_overdue":
        return overdue_tasks(con, sel, settings=settings, limit=limit)
    if which == "tasks_due_soon":
        return due_soon_tasks(con, sel, settings=settings, limit=limit)
    raise ValueError(which)


def overdue_tasks(con: duckdb.DuckDBPyConnection, sel: Selection, *,
                  settings: Settings | None = None, limit: int = 5000) -> pd.DataFrame:
    """The overdue part of the 督办清单 (most overdue first)."""
    df = supervision_list(con, sel, settings=settings, limit=limit)
    return df[df["state"] == "逾期"].reset_index(drop=True)


def due_soon_tasks(con: duckdb.DuckDBPyConnection, sel: Selection, *,
                   settings: Settings | None = None, limit: int = 5000) -> pd.DataFrame:
    """The 临期 part of the 督办清单 (soonest first)."""
    df = supervision_list(con, sel, settings=settings, limit=limit)
    return df[df["state"] == "临期"].reset_index(drop=True)


def breakdown(con: duckdb.DuckDBPyConnection, sel: Selection, by: str, *,
              settings: Settings | None = None) -> pd.DataFrame:
    """Every key per 任务类别 (``by="kind"``) or per 责任单位 (``"owner"``: the owner ranking), as
    column ``item`` and the keys; see ``grouped_query``. ``by="status"``: the ledger by 状态
    (``by_status``)."""
    if by == "status":  # the ledger as uploaded, 已终止 too
        return by_status(con, sel)
    q, _ = grouped_query(con, sel, by, settings=settings)
    df = q.run(con)
    return df.drop(columns=["unit_code"]).rename(columns={"unit_name": "item"})


def by_status(con: duckdb.DuckDBPyConnection, sel: Selection) -> pd.DataFrame:
    """The ledger by 状态 (已终止 too, so it adds up to the uploaded rows): item, tasks_listed."""
    params = {"prefix": sel.prefix()}
    cond = _filters(sel, params)
    sql = f"""
SELECT t.status AS item, count(*) AS tasks_listed
FROM tasks t WHERE {IN_PREFIX}{cond}
GROUP BY 1 ORDER BY tasks_listed DESC, item"""
    return Query(sql, params).run(con)


def filter_options(con: duckdb.DuckDBPyConnection, name: str, *,
                   scope: str | None = None) -> list[str]:
    """The values a page offers for filter ``name``: the contract's task kinds in its order; the
    责任单位 of the tasks under ``scope`` (the viewer's), most tasks first."""
    if name == "kind":
        return list(TASK_KINDS)
    if name != "owner":
        raise ValueError(name)
    df = Query("SELECT owner FROM tasks WHERE starts_with(coalesce(unit_code, ''), $scope) "
               "GROUP BY owner ORDER BY count(*) DESC, owner", {"scope": scope or ""}).run(con)
    return list(df["owner"])
