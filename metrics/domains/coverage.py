"""两个覆盖: party-organization and party-work coverage of 两新组织 (one monthly snapshot).

``agg_orgs`` (built at ingest) counts operating organizations per period × community × org_type
× sector; a report sums it for one snapshot. The follow-up lists (应建未建, 工作未覆盖) read the
raw ledger for that snapshot only.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.contract.schema import ORG_TYPES, SECTORS
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
from metrics.query import Query, scalar
from metrics.selection import Selection, month_start, month_str
from metrics.settings import Settings

KEYS = DOMAIN_KEYS["coverage"]
COUNTS = ["orgs_total", "orgs_with_party_org", "orgs_standalone", "orgs_work_covered",
          "standalone_eligible", "standalone_done"]
TABLES = ("units", "organizations", "targets")  # what a report reads (cache keys)
# The months its monthly extract describes (registry.month_range): the ledger's months.
MONTHS_SQL = period_months_sql("organizations")
LEVELS = ("city", "district", "street", "community")  # the ledger names communities only
FILTERS = ("org_type", "sector")
AGG_TABLE = "agg_orgs"
# The raw table whose aggregates this domain builds at ingest (``aggregate_queries``); the
# registry hands these to ``metrics.db``, which writes them at ingest and loads them to connect.
AGGREGATES_FROM = "organizations"
HAS_ORG = "party_org IN ('单独组建', '联合组建')"
ELIGIBLE = "party_members >= 3"  # 党章: three full members form a basic organization


def aggregate_key(settings: Settings) -> str:
    return "v1"


def aggregate_queries(source_sql: str, settings: Settings) -> dict[str, Query]:
    sql = f"""
SELECT period, community_code, org_type, sector,
  count(*) AS orgs_total,
  count(*) FILTER (WHERE {HAS_ORG}) AS orgs_with_party_org,
  count(*) FILTER (WHERE party_org = '单独组建') AS orgs_standalone,
  count(*) FILTER (WHERE {HAS_ORG} OR instructor) AS orgs_work_covered,
  count(*) FILTER (WHERE {ELIGIBLE}) AS standalone_eligible,
  count(*) FILTER (WHERE {ELIGIBLE} AND party_org = '单独组建') AS standalone_done
FROM ({source_sql})
WHERE operating  -- 空壳/僵尸 organizations leave every denominator
GROUP BY ALL
ORDER BY period, community_code"""
    return {AGG_TABLE: Query(sql)}


def latest(con: duckdb.DuckDBPyConnection) -> int | None:
    return latest_month(con, "SELECT max(period) FROM organizations")


def snapshot(con: duckdb.DuckDBPyConnection, last_month: int) -> dt.date | None:
    """The ledger used: the latest period at or before the range's last month."""
    return scalar(con, "SELECT max(period) FROM organizations WHERE period < $end",
                  {"end": month_start(last_month + 1).date()})


def resolve(con: duckdb.DuckDBPyConnection, sel: Selection) -> Period:
    first, last = sel.months(latest(con))
    return Period(first, last, sel.as_of or month_start(last + 1))


def _filters_sql(sel: Selection, params: dict, alias: str = "") -> str:
    out = ""
    for name, values in sel.filters:
        if name in FILTERS:
            params[f"f_{name}"] = list(values)
            out += f" AND {alias}{name} IN (SELECT unnest($f_{name}))"
    return out


_DERIVED = {
    "org_coverage_rate": rate("orgs_with_party_org", "orgs_total"),
    "work_coverage_rate": rate("orgs_work_covered", "orgs_total"),
    "standalone_rate": rate("standalone_done", "standalone_eligible"),
    "gap_should_build": "standalone_eligible - standalone_done",
    "gap_work_uncovered": "orgs_total - orgs_work_covered",
}


def query(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings: Settings | None = None
          ) -> tuple[Query, Period, dt.date | None]:
    period = resolve(con, sel)
    snap = snapshot(con, period.last)
    prefix = sel.prefix()
    params: dict = {"snapshot": snap}
    sums = ",\n    ".join(f"sum({c}) AS {c}" for c in COUNTS)
    facts = f"""
  SELECT {unit_key(sel.level)} AS unit_code,
    {sums}
  FROM {AGG_TABLE}
  WHERE period = $snapshot AND {prefix_filter(prefix)}{_filters_sql(sel, params)}
  GROUP BY 1"""
    return rollup(sel.level, prefix, facts, COUNTS, _DERIVED, params, KEYS), period, snap


def report(con: duckdb.DuckDBPyConnection, sel: Selection, *,
           settings: Settings | None = None) -> Report:
    """Every key of 两个覆盖 per unit of ``sel.level``, for the snapshot at the range's end.

    No ledger at or before that month: every unit with zero counts and null rates; the
    report's ``snapshot`` (None then) says which month's ledger was used.
    """
    q, period, snap = query(con, sel, settings=settings)
    return Report.of(q.run(con), period, snapshot=snap.strftime("%Y-%m") if snap else None)


FOLLOW_UPS = ("should_build", "work_uncovered")


def follow_up(con: duckdb.DuckDBPyConnection, sel: Selection, which: str, *,
              settings: Settings | None = None, limit: int = 5000) -> pd.DataFrame:
    """The follow-up list ``which`` (one of FOLLOW_UPS): see ``gap_list``."""
    return gap_list(con, sel, which, limit=limit)


def gap_list(con: duckdb.DuckDBPyConnection, sel: Selection, which: str, *,
             limit: int = 5000) -> pd.DataFrame:
    """Organizations to follow up: ``which`` = "should_build" (应建未建: ≥3 members, no
    standalone organization) or "work_uncovered" (工作未覆盖: no party organization and no
    instructor)."""
    conditions = {
        "should_build": f"{ELIGIBLE} AND party_org <> '单独组建'",
        "work_uncovered": f"NOT ({HAS_ORG}) AND NOT instructor",
    }
    period = resolve(con, sel)
    snap = snapshot(con, period.last)
    params = {"snapshot": snap, "prefix": sel.prefix(), "limit": limit}
    sql = f"""
SELECT o.org_id, o.org_name, o.org_type, o.sector, o.community_code,
       u.name AS community_name, left(o.community_code, 9) AS street_code, s.name AS street_name,
       left(o.community_code, 6) AS district_code, d.name AS district_name,
       o.employees, o.party_members, o.party_org, o.instructor
FROM organizations o
LEFT JOIN units u ON u.code = o.community_code
LEFT JOIN units s ON s.code = left(o.community_code, 9)
LEFT JOIN units d ON d.code = left(o.community_code, 6)
WHERE o.period = $snapshot AND o.operating AND {conditions[which]}
  AND {prefix_filter(sel.prefix(), community_col="o.community_code")}{_filters_sql(sel, params, "o.")}
ORDER BY o.party_members DESC, o.employees DESC, o.org_id
LIMIT $limit"""
    return Query(sql, params).run(con)


def breakdown(con: duckdb.DuckDBPyConnection, sel: Selection, by: str, *,
              settings: Settings | None = None) -> pd.DataFrame:
    """Coverage by ``org_type`` or ``sector`` for the selection's snapshot."""
    if by not in FILTERS:
        raise ValueError(by)
    period = resolve(con, sel)
    params = {"snapshot": snapshot(con, period.last), "prefix": sel.prefix()}
    sql = f"""
SELECT {by} AS item, CAST(sum(orgs_total) AS BIGINT) AS orgs_total,
  {rate("sum(orgs_with_party_org)", "sum(orgs_total)")} AS org_coverage_rate,
  {rate("sum(orgs_work_covered)", "sum(orgs_total)")} AS work_coverage_rate,
  CAST(sum(standalone_eligible) - sum(standalone_done) AS BIGINT) AS gap_should_build
FROM {AGG_TABLE}
WHERE period = $snapshot AND {prefix_filter(sel.prefix())}{_filters_sql(sel, params)}
GROUP BY 1 ORDER BY orgs_total DESC, item"""
    return Query(sql, params).run(con)


def snapshot_label(snap: dt.date | None) -> str:
    return month_str(snap.year * 12 + snap.month - 1) if snap else "—"


def filter_options(con: duckdb.DuckDBPyConnection, name: str, *,
                   scope: str | None = None) -> list[str]:
    """The values a page offers for filter ``name``: the contract's fixed lists, in its order."""
    options = {"org_type": ORG_TYPES, "sector": SECTORS}
    if name not in options:
        raise ValueError(name)
    return list(options[name])
