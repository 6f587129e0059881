"""What a metric runs: SQL text with bound parameters (``Query``), tables built in parts, and
one-value reads. Every domain module builds on these; the connection itself is ``metrics.db``.

A DuckDB connection is not thread-safe: ``Query.run`` and ``scalar`` take a cursor of their own.
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


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None):
    cur = con.cursor()
    try:
        row = cur.execute(sql, params or {}).fetchone()
        return None if row is None else row[0]
    finally:
        cur.close()
