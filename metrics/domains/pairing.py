"""结对联建: pairings of 机关/驻区单位 with communities, their projects, monthly 双报到.

These tables are small (thousands of rows even for a province), so reports read them directly.
A date d has happened when d < the date of as_of.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from metrics.contract.schema import PARTNER_LEVELS, PROJECT_KINDS
from metrics.definitions import DOMAIN_KEYS
from metrics.domains.common import (
    Period,
    Report,
    latest_month,
    period_months_sql,
    prefix_filter,
    rate,
    rollup,
    unit_key,
)
from metrics.query import Query
from metrics.selection import Selection, month_start
from metrics.settings import Settings

KEYS = DOMAIN_KEYS["pairing"]
TABLES = ("units", "pairings", "projects", "checkins", "targets")  # what a report reads
# The months its monthly extract describes (registry.month_range): the check-ins' months (pairings and projects are plans).
MONTHS_SQL = period_months_sql("checkins")
LEVELS = ("city", "district", "street", "community")  # pairings, check-ins: by community
COUNTS = ["communities", "pairings_active", "communities_paired", "projects", "projects_due",
          "projects_done", "projects_done_on_time", "projects_overdue", "units_reported",
          "members_reported", "activities"]
SUMS = ("service_hours",)
FILTERS = ("partner_level", "kind")

ACTIVE = "(p.started_on < $as_of_date AND (p.ended_on IS NULL OR NOT (p.ended_on < $as_of_date)))"
DONE = "(j.completed_on IS NOT NULL AND j.completed_on < $as_of_date)"
DUE_PASSED = "(j.due_on < $as_of_date)"


def latest(con: duckdb.DuckDBPyConnection) -> int | None:
    """The latest month with check-ins (the domain's monthly extract); without any, the latest
    month of pairing or project activity that has already happened (a pairing agreed to start
    next month says nothing about which month the data describes)."""
    m = latest_month(con, "SELECT max(period) FROM checkins")
    if m is None:
        m = latest_month(con, """
            SELECT greatest(
              (SELECT max(started_on) FROM pairings WHERE started_on <= current_date),
              (SELECT max(completed_on) FROM projects WHERE completed_on <= current_date))""")
    return m


def first_activity(con: duckdb.DuckDBPyConnection) -> int | None:
    """The month the first pairing started (month index), for a store without check-ins."""
    return latest_month(con, "SELECT min(started_on) FROM pairings")


def resolve(con: duckdb.DuckDBPyConnection, sel: Selection) -> Period:
    first, last = sel.months(latest(con))
    return Period(first, last, sel.as_of or month_start(last + 1))


def _filters(sel: Selection, params: dict) -> tuple[str, str]:
    """(pairing condition, project condition)."""
    f = sel.filter_dict()
    pc, jc = "", ""
    if "partner_level" in f:
        params["f_partner_level"] = list(f["partner_level"])
        pc = " AND p.partner_level IN (SELECT unnest($f_partner_level))"
    if "kind" in f:
        params["f_kind"] = list(f["kind"])
        jc = " AND j.kind IN (SELECT unnest($f_kind))"
    return pc, pc + jc


def query(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings=None) -> tuple[Query, Period]:
    period = resolve(con, sel)
    prefix = sel.prefix()
    level = sel.level if sel.level != "grid" else "community"
    params: dict = {
        "as_of_date": period.as_of.date(),
        "m_start": month_start(period.first).date(),
        "m_end": month_start(period.last + 1).date(),
    }
    pair_cond, proj_cond = _filters(sel, params)
    key_u = unit_key(level, community_col="u.code")
    key_p = unit_key(level, community_col="p.community_code")
    key_c = unit_key(level, community_col="c.community_code")
    facts = f"""
  SELECT unit_code, {", ".join(f"sum({c}) AS {c}" for c in COUNTS + list(SUMS))}
  FROM (
    SELECT {key_u} AS unit_code, count(*) AS communities
    FROM units u WHERE u.level = 'community' AND {prefix_filter(prefix, community_col="u.code")}
    GROUP BY 1
    UNION ALL BY NAME
    SELECT {key_p} AS unit_code, count(*) AS pairings_active,
           count(DISTINCT p.community_code) AS communities_paired
    FROM pairings p
    WHERE {ACTIVE} AND {prefix_filter(prefix, community_col="p.community_code")}{pair_cond}
    GROUP BY 1
    UNION ALL BY NAME
    SELECT {key_p} AS unit_code,
      count(*) AS projects,
      count(*) FILTER (WHERE {DONE} OR {DUE_PASSED}) AS projects_due,
      count(*) FILTER (WHERE {DONE}) AS projects_done,
      count(*) FILTER (WHERE {DONE} AND j.completed_on <= j.due_on) AS projects_done_on_time,
      count(*) FILTER (WHERE NOT {DONE} AND {DUE_PASSED}) AS projects_overdue
    FROM projects j JOIN pairings p ON p.pairing_id = j.pairing_id
    WHERE j.status <> '已终止' AND {prefix_filter(prefix, community_col="p.community_code")}{proj_cond}
    GROUP BY 1
    UNION ALL BY NAME
    SELECT {key_c} AS unit_code, sum(c.units_reported) AS units_reported,
           sum(c.members_reported) AS members_reported
    FROM checkins c
    WHERE c.period = (SELECT max(period) FROM checkins WHERE period < $m_end)
      AND {prefix_filter(prefix, community_col="c.community_code")}
    GROUP BY 1
    UNION ALL BY NAME
    SELECT {key_c} AS unit_code, sum(c.activities) AS activities,
           sum(c.service_hours) AS service_hours
    FROM checkins c
    WHERE c.period >= $m_start AND c.period < $m_end
      AND {prefix_filter(prefix, community_col="c.community_code")}
    GROUP BY 1
  )
  GROUP BY unit_code"""
    derived = {
        "pairing_coverage_rate": rate("communities_paired", "communities"),
        "project_completion_rate": rate("projects_done", "projects"),
        "project_on_time_rate": rate("projects_done_on_time", "projects_due"),
    }
    q = rollup(level, prefix, facts, COUNTS, derived, params, KEYS, sums=SUMS)
    return q, period


def report(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings=None) -> Report:
    """Every key of 结对联建 per unit of ``sel.level`` (community at the finest). Units with no
    pairings, projects or check-ins: zero counts and null rates."""
    q, period = query(con, sel)
    return Report.of(q.run(con), period)


FOLLOW_UPS = ("overdue_projects",)


def follow_up(con: duckdb.DuckDBPyConnection, sel: Selection, which: str, *,
              settings: Settings | None = None, limit: int = 5000) -> pd.DataFrame:
    """The follow-up list ``which`` (one of FOLLOW_UPS): see ``overdue_projects``."""
    if which not in FOLLOW_UPS:
        raise ValueError(which)
    return overdue_projects(con, sel, limit=limit)


def overdue_projects(con: duckdb.DuckDBPyConnection, sel: Selection, *,
                     limit: int = 5000) -> pd.DataFrame:
    """Projects not done whose due date has passed, most overdue first."""
    period = resolve(con, sel)
    params = {"as_of_date": period.as_of.date(), "prefix": sel.prefix(), "limit": limit}
    _, proj_cond = _filters(sel, params)
    sql = f"""
SELECT j.project_id, j.title, j.kind, j.status, j.due_on, p.partner_name, p.partner_level,
       p.community_code, u.name AS community_name,
       left(p.community_code, 6) AS district_code, d.name AS district_name,
       left(p.community_code, 9) AS street_code, s.name AS street_name,
       CAST(date_diff('day', j.due_on, $as_of_date) AS INTEGER) AS overdue_days
FROM projects j JOIN pairings p ON p.pairing_id = j.pairing_id
LEFT JOIN units u ON u.code = p.community_code
LEFT JOIN units s ON s.code = left(p.community_code, 9)
LEFT JOIN units d ON d.code = left(p.community_code, 6)
WHERE j.status <> '已终止' AND NOT {DONE} AND {DUE_PASSED}
  AND {prefix_filter(sel.prefix(), community_col="p.community_code")}{proj_cond}
ORDER BY j.due_on, j.project_id
LIMIT $limit"""
    return Query(sql, params).run(con)


def breakdown(con: duckdb.DuckDBPyConnection, sel: Selection, by: str, *,
              settings=None) -> pd.DataFrame:
    """Projects by ``kind`` or active pairings by ``partner_level``."""
    period = resolve(con, sel)
    params = {"as_of_date": period.as_of.date(), "prefix": sel.prefix()}
    pair_cond, proj_cond = _filters(sel, params)
    if by == "partner_level":
        sql = f"""
SELECT p.partner_level AS item, count(*) AS pairings_active,
       count(DISTINCT p.community_code) AS communities_paired
FROM pairings p
WHERE {ACTIVE} AND {prefix_filter(sel.prefix(), community_col="p.community_code")}{pair_cond}
GROUP BY 1 ORDER BY pairings_active DESC, item"""
    elif by == "kind":
        sql = f"""
SELECT j.kind AS item, count(*) AS projects,
       count(*) FILTER (WHERE {DONE}) AS projects_done,
       {rate(f"count(*) FILTER (WHERE {DONE})", "count(*)")} AS project_completion_rate,
       count(*) FILTER (WHERE NOT {DONE} AND {DUE_PASSED}) AS projects_overdue
FROM projects j JOIN pairings p ON p.pairing_id = j.pairing_id
WHERE j.status <> '已终止' AND {prefix_filter(sel.prefix(), community_col="p.community_code")}{proj_cond}
GROUP BY 1 ORDER BY projects DESC, item"""
    else:
        raise ValueError(by)
    return Query(sql, params).run(con)


def filter_options(con: duckdb.DuckDBPyConnection, name: str, *,
                   scope: str | None = None) -> list[str]:
    """The values a page offers for filter ``name``: the contract's fixed lists, in its order."""
    options = {"partner_level": PARTNER_LEVELS, "kind": PROJECT_KINDS}
    if name not in options:
        raise ValueError(name)
    return list(options[name])
