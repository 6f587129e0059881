"""Pieces every domain shares: the rows of a level, the roll-up to them, rates, periods."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from metrics.query import Query, scalar
from metrics.selection import level_length, month_start

CITY_NAME = "全市"


def unit_key(level: str, *, community_col: str = "community_code", grid_col: str = "grid_code") -> str:
    """SQL for the code of the ``level`` unit a row belongs to (a fixed allow-list of forms)."""
    if level == "city":
        return "CAST(NULL AS VARCHAR)"
    if level == "grid":
        return grid_col
    return f"left({community_col}, {int(level_length(level))})"


def prefix_filter(prefix: str, *, community_col: str = "community_code",
                  grid_col: str = "grid_code") -> str:
    """Rows under the selection's unit; the prefix itself is a bound parameter ($prefix)."""
    if len(prefix) == 15:
        return f"starts_with(coalesce({grid_col}, ''), $prefix)"
    return f"starts_with({community_col}, $prefix)"


def level_units_sql(level: str) -> str:
    """The rows of a report: every unit of the level under (or above) the prefix, by code."""
    if level == "city":
        return f"SELECT CAST(NULL AS VARCHAR) AS unit_code, '{CITY_NAME}' AS unit_name"
    return (
        "SELECT code AS unit_code, name AS unit_name FROM units "
        "WHERE level = $level AND (starts_with(code, $prefix) OR starts_with($prefix, code))"
    )


def rate(num: str, den: str) -> str:
    """A rate whose zero denominator is null, never 0 and never an error."""
    return f"CASE WHEN {den} = 0 THEN NULL ELSE CAST({num} AS DOUBLE) / {den} END"


def rollup(level: str, prefix: str, facts_sql: str, counts: list[str], derived: dict[str, str],
           params: dict, order: list[str], *, sums: tuple[str, ...] = ()) -> Query:
    """Join per-unit facts to the level's units so units without rows still appear (zero
    counts, null rates). ``facts_sql`` must yield unit_code plus the ``counts`` columns (and
    the non-integer ``sums``)."""
    cols = [f"CAST(coalesce(f.{c}, 0) AS BIGINT) AS {c}" for c in counts]
    cols += [f"CAST(coalesce(f.{c}, 0) AS DOUBLE) AS {c}" for c in sums]
    sql = f"""
WITH facts AS (
{facts_sql.strip()}
),
level_units AS ({level_units_sql(level)}),
joined AS (
  SELECT u.unit_code, u.unit_name, {", ".join(cols)}
  FROM level_units u LEFT JOIN facts f ON f.unit_code IS NOT DISTINCT FROM u.unit_code
)
SELECT unit_code, unit_name, {", ".join(f"{derived[k]} AS {k}" if k in derived else k for k in order)}
FROM joined
ORDER BY unit_code NULLS FIRST
"""
    p = dict(params)
    p["prefix"] = prefix
    if level != "city":
        p["level"] = level
    return Query(sql, p)


def latest_month(con: duckdb.DuckDBPyConnection, sql: str) -> int | None:
    """Month index (year·12 + month − 1) from a query returning one date/timestamp."""
    v = scalar(con, sql)
    if v is None:
        return None
    return v.year * 12 + v.month - 1


def period_months_sql(table: str) -> str:
    """(lo, hi): the first and last month index of a monthly table's ``period`` column (a
    domain's MONTHS_SQL; ``table`` is the domain's own constant, never user input)."""
    return (f"SELECT min(year(period) * 12 + month(period) - 1) AS lo, "
            f"max(year(period) * 12 + month(period) - 1) AS hi FROM {table}")


@dataclass(frozen=True)
class Period:
    first: int  # month index
    last: int
    as_of: dt.datetime
    cap: dt.datetime | None = None  # issues: one second after the newest stored timestamp

    @property
    def as_of_date(self) -> dt.date:
        return self.as_of.date()

    @property
    def start(self) -> dt.datetime:
        return month_start(self.first)

    @property
    def end(self) -> dt.datetime:
        return month_start(self.last + 1)


@dataclass(frozen=True, eq=False)
class Report:
    """A domain's keys per unit (``frame``: unit_code, unit_name and the keys) and the period
    they were judged for: ``first``..``last`` (month indexes) at ``as_of``.

    A domain that reads monthly ledgers (两个覆盖, 网格与小区) sets ``has_snapshot`` and names in
    ``snapshot`` the ledger month it used ('YYYY-MM'), None when no ledger exists at or before
    the period: then every unit has zero counts and null rates, and there is nothing to compare
    a later period with. Other domains leave ``has_snapshot`` False (and ``snapshot`` None).
    ``snapshots`` holds the months of each ledger when a domain reads several (网格与小区:
    ``{"grid": …, "compound": …}``, ``snapshot`` then the newer of the two).

    No ``==``: a DataFrame has no single truth value, so compare the frames and fields.
    """

    frame: pd.DataFrame
    as_of: dt.datetime
    first: int
    last: int
    snapshot: str | None = None
    has_snapshot: bool = False
    snapshots: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def of(cls, frame: pd.DataFrame, period: Period, **snapshots) -> Report:
        """The report of ``frame`` judged for ``period`` (``snapshot=`` / ``snapshots=``)."""
        if "snapshot" in snapshots:
            snapshots["has_snapshot"] = True
        return cls(frame, period.as_of, period.first, period.last, **snapshots)

    @property
    def no_ledger(self) -> bool:
        """The domain reads a ledger and none exists at or before the period."""
        return self.has_snapshot and self.snapshot is None
