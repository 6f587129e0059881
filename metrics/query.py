"""What a metric runs: SQL text with bound parameters (``Query``), tables built in parts, and
one-value reads. Every domain module builds on these; the connection itself is ``metrics.db``.

A DuckDB connection is not thread-safe: ``Query.run``, ``scalar`` and ``row`` take a cursor of
their own.

The DuckDB connection is the default engine. Another engine (metrics/engine.py: Spark) is any
object with ``execute(query)`` and ``row(sql, params)``; ``Query.run``, ``scalar`` and ``row``
hand it the query, so a metric function runs unchanged on either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd


@dataclass(frozen=True)
class Query:
    """SQL text with bound parameters: what a metric runs, and what "show SQL" shows."""

    sql: str
    params: dict = field(default_factory=dict)

    def run(self, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        if not isinstance(con, duckdb.DuckDBPyConnection):
            return con.execute(self)  # another engine (metrics/engine.py)
        cur = con.cursor()
        try:
            return cur.execute(self.sql, self.params).df()
        finally:
            cur.close()

    def explain(self) -> str:
        """The SQL with its parameters listed below it, for the 口径/SQL panels."""
        lines = [self.sql.strip()]
        if self.params:
            lines.append("-- 参数:")
            lines += [f"--   ${k} = {v!r}" for k, v in self.params.items()]
        return "\n".join(lines)


@dataclass(frozen=True)
class Parts:
    """A table built from queries appended one after another (only one part's intermediate is
    ever in memory), then sorted by ``order_by`` (column names)."""

    queries: list[Query]
    order_by: tuple[str, ...]


@dataclass(frozen=True)
class SplitParts:
    """A table built in parts the data decides: ``part`` runs once per row of ``split`` (a
    query over the same source), that row's columns bound as extra parameters of the same
    names; the result is sorted by ``order_by``. With no rows (no data yet) ``part`` runs once
    with every such parameter NULL, which gives the empty table its columns. Splitting by
    report month reads each of the stored orders' row groups once in all (they are stored by
    report month), where a split by a value read the whole table per part."""

    split: Query
    part: Query
    order_by: tuple[str, ...]


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None):
    r = row(con, sql, params)
    return None if r is None else r[0]


def row(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> tuple | None:
    """The first row of a query (None when it has none), on DuckDB or another engine."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return con.row(sql, params or {})
    cur = con.cursor()
    try:
        return cur.execute(sql, params or {}).fetchone()
    finally:
        cur.close()
