"""网格与小区: grid party organizations and staffing, and compounds (小区) — party
organizations, property service, owners' committees, 示范小区 and 片长/组长/邻长.

Both tables are monthly snapshots, used like the organizations ledger: a report takes, for each
table on its own, the latest period at or before the range's last month (the two may differ,
and the report says which it used).

The tables are read directly, without an aggregate built at ingest: a snapshot is one row per
grid (per compound), stored sorted by period, so ``period = $snapshot`` reads only that
period's row groups — a report scans one snapshot's rows, as many as a grid-level aggregate
would have, and per community an aggregate would save little (5–8 grids, a few compounds).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.definitions import DOMAIN_KEYS
from metrics.domains.common import (
    Period,
    Report,
    period_months_sql,
    prefix_filter,
    rate,
    rollup,
    unit_key,
)
from metrics.query import Query, scalar
from metrics.selection import Selection, index_of, month_start, month_str
from metrics.settings import Settings

KEYS = DOMAIN_KEYS["grids"]
TABLES = ("units", "grids", "compounds", "targets")  # what a report reads (cache keys)
# The months its monthly extract describes (registry.month_range): both snapshots' months.
MONTHS_SQL = period_months_sql("grids") + "\n  UNION ALL " + period_months_sql("compounds")
FILTERS: tuple[str, ...] = ()
LEVELS = ("city", "district", "street", "community")

GRID_HAS_ORG = "grid_party_org IN ('网格党支部', '网格党小组')"
GRID_STAFFED = "fulltime_workers + parttime_workers >= 1"
COMPOUND_HAS_ORG = "party_org IN ('小区党支部', '楼栋党小组')"
# 党章: three full members form a basic organization. A 楼栋党小组 is a group inside a
# branch, not a branch of the compound's own, so only 小区党支部 counts as built.
BUILD_ELIGIBLE = "party_members_resident >= 3"
BUILD_DONE = f"{BUILD_ELIGIBLE} AND party_org = '小区党支部'"
HAS_PROPERTY = "property_service IN ('专业物业', '红色物业', '自管')"

GRID_COUNTS = ["grids", "grids_with_party_org", "grids_party_branch", "grids_with_leader",
               "grids_staffed", "fulltime_workers", "parttime_workers", "grid_households"]
COMPOUND_COUNTS = ["compounds", "compounds_with_party_org", "compounds_build_eligible",
                   "compounds_build_done", "compounds_with_property", "compounds_red_property",
                   "compounds_owners_committee", "model_compounds", "compound_households",
                   "compound_party_members", "heads_area", "heads_group", "heads_neighbor"]
COUNTS = GRID_COUNTS + COMPOUND_COUNTS

_GRID_FACTS = f"""
    count(*) AS grids,
    count(*) FILTER (WHERE {GRID_HAS_ORG}) AS grids_with_party_org,
    count(*) FILTER (WHERE grid_party_org = '网格党支部') AS grids_party_branch,
    count(*) FILTER (WHERE grid_leader) AS grids_with_leader,
    count(*) FILTER (WHERE {GRID_STAFFED}) AS grids_staffed,
    sum(fulltime_workers) AS fulltime_workers,
    sum(parttime_workers) AS parttime_workers,
    sum(households) AS grid_households"""
_COMPOUND_FACTS = f"""
    count(*) AS compounds,
    count(*) FILTER (WHERE {COMPOUND_HAS_ORG}) AS compounds_with_party_org,
    count(*) FILTER (WHERE {BUILD_ELIGIBLE}) AS compounds_build_eligible,
    count(*) FILTER (WHERE {BUILD_DONE}) AS compounds_build_done,
    count(*) FILTER (WHERE {HAS_PROPERTY}) AS compounds_with_property,
    count(*) FILTER (WHERE property_service = '红色物业') AS compounds_red_property,
    count(*) FILTER (WHERE owners_committee) AS compounds_owners_committee,
    count(*) FILTER (WHERE model_compound) AS model_compounds,
    sum(households) AS compound_households,
    sum(party_members_resident) AS compound_party_members,
    sum(heads_area) AS heads_area,
    sum(heads_group) AS heads_group,
    sum(heads_neighbor) AS heads_neighbor"""

DERIVED = {
    "grid_party_org_rate": rate("grids_with_party_org", "grids"),
    "gap_grids_no_party_org": "grids - grids_with_party_org",
    "grid_leader_rate": rate("grids_with_leader", "grids"),
    "grid_staffed_rate": rate("grids_staffed", "grids"),
    "gap_grids_unstaffed": "grids - grids_staffed",
    "grid_workers": "fulltime_workers + parttime_workers",
    "households_per_worker": rate("grid_households", "(fulltime_workers + parttime_workers)"),
    "compound_party_org_rate": rate("compounds_with_party_org", "compounds"),
    "compound_build_rate": rate("compounds_build_done", "compounds_build_eligible"),
    "gap_compounds_should_build": "compounds_build_eligible - compounds_build_done",
    "property_coverage_rate": rate("compounds_with_property", "compounds"),
    "gap_compounds_no_property": "compounds - compounds_with_property",
    "owners_committee_rate": rate("compounds_owners_committee", "compounds"),
    "heads_neighbor_per_100": rate("100 * heads_neighbor", "compound_households"),
}


def latest(con: duckdb.DuckDBPyConnection) -> int | None:
    """The latest month of either snapshot (None when neither has rows)."""
    v = scalar(con, "SELECT greatest((SELECT max(period) FROM grids), "
                    "(SELECT max(period) FROM compounds))")
    return None if v is None else index_of(v)


def snapshots(con: duckdb.DuckDBPyConnection, last_month: int) -> tuple[dt.date | None, dt.date | None]:
    """(grids, compounds) periods used: each the latest at or before the range's last month."""
    end = month_start(last_month + 1).date()
    return (scalar(con, "SELECT max(period) FROM grids WHERE period < $end", {"end": end}),
            scalar(con, "SELECT max(period) FROM compounds WHERE period < $end", {"end": end}))


def resolve(con: duckdb.DuckDBPyConnection, sel: Selection) -> Period:
    first, last = sel.months(latest(con))
    return Period(first, last, sel.as_of or month_start(last + 1))


def query(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings=None
          ) -> tuple[Query, Period, tuple[dt.date | None, dt.date | None]]:
    period = resolve(con, sel)
    snaps = snapshots(con, period.last)
    prefix = sel.prefix()
    level = sel.level
    params = {"grid_snapshot": snaps[0], "compound_snapshot": snaps[1]}
    # A grid's community is the first 12 digits of its code, so the grid code itself yields
    # every level's unit and prefix (a 15-digit prefix matches the grid only).
    facts = f"""
  SELECT unit_code, {", ".join(f"sum({c}) AS {c}" for c in COUNTS)}
  FROM (
    SELECT {unit_key(level, community_col="grid_code")} AS unit_code,{_GRID_FACTS}
    FROM grids
    WHERE period = $grid_snapshot
      AND {prefix_filter(prefix, community_col="grid_code", grid_col="grid_code")}
    GROUP BY 1
    UNION ALL BY NAME
    SELECT {unit_key(level)} AS unit_code,{_COMPOUND_FACTS}
    FROM compounds
    WHERE period = $compound_snapshot
      AND {prefix_filter(prefix, grid_col="CAST(NULL AS VARCHAR)")}
    GROUP BY 1
  )
  GROUP BY unit_code"""
    return rollup(level, prefix, facts, COUNTS, DERIVED, params, KEYS), period, snaps


def report(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings=None) -> Report:
    """Every key of 网格与小区 per unit of ``sel.level`` (community at the finest).

    Units without rows in a snapshot — or no snapshot at or before the range's last month —
    get zero counts and null rates and quotients. The report's ``snapshots["grid"]`` and
    ``snapshots["compound"]`` ('YYYY-MM' or None) say which months were used.
    """
    q, period, (gs, cs) = query(con, sel)
    return Report.of(q.run(con), period,
                     snapshots={"grid": snapshot_label(gs), "compound": snapshot_label(cs)},
                     # the newer of the two; None only when neither table has a month to use
                     snapshot=snapshot_label(max((d for d in (gs, cs) if d), default=None)))


def snapshot_label(snap: dt.date | None) -> str | None:
    return month_str(index_of(snap)) if snap else None


# --- follow-up lists -------------------------------------------------------------------------

FOLLOW_UPS = ("grids_no_party_org", "grids_unstaffed", "compounds_should_build",
              "compounds_no_property")

_GRID_LIST = """
SELECT g.grid_code, gu.name AS grid_name, left(g.grid_code, 12) AS community_code,
       cu.name AS community_name, left(g.grid_code, 9) AS street_code, su.name AS street_name,
       left(g.grid_code, 6) AS district_code, du.name AS district_name,
       g.grid_party_org, g.grid_leader, g.fulltime_workers, g.parttime_workers, g.households
FROM grids g
LEFT JOIN units gu ON gu.code = g.grid_code
LEFT JOIN units cu ON cu.code = left(g.grid_code, 12)
LEFT JOIN units su ON su.code = left(g.grid_code, 9)
LEFT JOIN units du ON du.code = left(g.grid_code, 6)
WHERE g.period = $snapshot AND {condition}
  AND {prefix}
ORDER BY g.households DESC, g.grid_code
LIMIT $limit"""

_COMPOUND_LIST = """
SELECT c.compound_id, c.compound_name, c.community_code, cu.name AS community_name,
       left(c.community_code, 9) AS street_code, su.name AS street_name,
       left(c.community_code, 6) AS district_code, du.name AS district_name, c.households,
       c.party_members_resident, c.party_org, c.property_service, c.owners_committee
FROM compounds c
LEFT JOIN units cu ON cu.code = c.community_code
LEFT JOIN units su ON su.code = left(c.community_code, 9)
LEFT JOIN units du ON du.code = left(c.community_code, 6)
WHERE c.period = $snapshot AND {condition}
  AND {prefix}
ORDER BY {order}, c.compound_id
LIMIT $limit"""


def follow_up(con: duckdb.DuckDBPyConnection, sel: Selection, which: str, *,
              settings: Settings | None = None, limit: int = 5000) -> pd.DataFrame:
    """Units to follow up in the snapshot the report uses:

    * ``grids_no_party_org`` — grids whose 网格党组织 is 未建 (the 未建党组织网格数);
    * ``grids_unstaffed`` — grids with no 专职 and no 兼职网格员 (the 无网格员网格数);
    * ``compounds_should_build`` — compounds with ≥ 3 resident members and no 小区党支部
      (小区应建未建数), most members first;
    * ``compounds_no_property`` — compounds whose 物业服务 is 无 (无物业小区数), largest first.

    No snapshot at or before the range's last month: an empty frame with the same columns.
    """
    period = resolve(con, sel)
    grid_snap, compound_snap = snapshots(con, period.last)
    prefix = sel.prefix()
    if which in ("grids_no_party_org", "grids_unstaffed"):
        condition = "NOT (g.grid_party_org IN ('网格党支部', '网格党小组'))" \
            if which == "grids_no_party_org" else "g.fulltime_workers + g.parttime_workers = 0"
        sql = _GRID_LIST.format(condition=condition, prefix=prefix_filter(
            prefix, community_col="g.grid_code", grid_col="g.grid_code"))
        snap = grid_snap
    elif which in ("compounds_should_build", "compounds_no_property"):
        if which == "compounds_should_build":
            condition = "c.party_members_resident >= 3 AND c.party_org <> '小区党支部'"
            order = "c.party_members_resident DESC, c.households DESC"
        else:
            condition, order = "c.property_service = '无'", "c.households DESC"
        sql = _COMPOUND_LIST.format(condition=condition, order=order, prefix=prefix_filter(
            prefix, community_col="c.community_code", grid_col="CAST(NULL AS VARCHAR)"))
        snap = compound_snap
    else:
        raise ValueError(which)
    return Query(sql, {"snapshot": snap, "prefix": prefix, "limit": limit}).run(con)


# --- breakdowns ------------------------------------------------------------------------------

BREAKDOWNS = ("grid_party_org", "party_org", "property_service")


def breakdown(con: duckdb.DuckDBPyConnection, sel: Selection, by: str, *,
              settings=None) -> pd.DataFrame:
    """Grids by 网格党组织 (``grid_party_org``), or compounds by 小区党组织 (``party_org``) or
    物业服务 (``property_service``), in the snapshot the report uses: item, count, share."""
    period = resolve(con, sel)
    grid_snap, compound_snap = snapshots(con, period.last)
    prefix = sel.prefix()
    if by == "grid_party_org":
        table, value, snap = "grids", "grids", grid_snap
        where = prefix_filter(prefix, community_col="grid_code", grid_col="grid_code")
    elif by in ("party_org", "property_service"):
        table, value, snap = "compounds", "compounds", compound_snap
        where = prefix_filter(prefix, grid_col="CAST(NULL AS VARCHAR)")
    else:
        raise ValueError(by)
    sql = f"""
SELECT {by} AS item, count(*) AS {value},
  {rate("count(*)", "sum(count(*)) OVER ()")} AS share
FROM {table}
WHERE period = $snapshot AND {where}
GROUP BY 1 ORDER BY {value} DESC, item"""
    return Query(sql, {"snapshot": snap, "prefix": prefix}).run(con)


def filter_options(con: duckdb.DuckDBPyConnection, name: str, *,
                   scope: str | None = None) -> list[str]:
    """No filters: the grid and compound ledgers are counted whole."""
    raise ValueError(name)
