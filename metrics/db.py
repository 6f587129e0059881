"""A DuckDB connection over the store's current versions, with the domains' aggregates.

The connection is opened once per set of current versions (the caller caches it) and injected
into every metric function. Large raw tables (issues, organizations) stay Parquet views; the
small tables and the pre-built aggregates are loaded into memory, so a page's query touches only
small in-memory tables. The aggregates are the ones the domains declare
(``metrics.domains.registry.AGGREGATES``). What a metric runs is a ``metrics.query.Query``. A DuckDB
connection is not thread-safe: ``Query.run`` takes a cursor of its own; another engine
(metrics/engine.py: Spark) runs the same ``Query`` objects.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from metrics.contract import schema as S
from metrics.domains.registry import AGGREGATES
from metrics.query import Parts, Query, SplitParts
from metrics.settings import Settings
from metrics.store.versions import Store

# The monthly snapshots stay Parquet views too: stored by period, a report's ``period =
# $snapshot`` reads only that period's row groups.
RAW_AS_VIEWS = ("issues", "organizations", "grids", "compounds")


def sql_literal_path(path: Path) -> str:
    """A store-made path as a SQL string literal (paths are ours, never user input; quotes are
    doubled anyway so an odd data-dir name cannot break the statement)."""
    return "'" + str(path).replace("'", "''") + "'"


def select_typed(table: S.Table, source: str) -> str:
    """SELECT list casting every column to its storage type."""
    cols = ", ".join(
        f'CAST("{c.name}" AS {S.SQL_TYPES[c.kind]}) AS "{c.name}"' for c in table.columns
    )
    return f"SELECT {cols} FROM {source}"


def empty_ddl(table: S.Table) -> str:
    cols = ", ".join(f'"{c.name}" {S.SQL_TYPES[c.kind]}' for c in table.columns)
    return f'CREATE TABLE "{table.name}" ({cols})'


def connect(store: Store, settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one relation per table (current version) and the aggregates."""
    con = duckdb.connect(config={"threads": 2})
    # The aggregates that stay Parquet views are read a few row groups at a time: their footers
    # are parsed once per connection, not once per query.
    con.execute("SET parquet_metadata_cache = true")
    for name, table in S.TABLES.items():
        path = store.current_data(name)
        if path is None:
            con.execute(empty_ddl(table))
        elif name in RAW_AS_VIEWS:
            con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet({sql_literal_path(path)})')
        elif name == "units":
            # By level first: a report's rows are one level, so the scan skips the grids.
            con.execute(f'CREATE TABLE units AS SELECT * FROM read_parquet({sql_literal_path(path)}) '
                        'ORDER BY level, code')
        else:
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM read_parquet({sql_literal_path(path)})')
    for table, module in AGGREGATES.items():
        vdir = store.current_dir(table)
        meta = _agg_meta(vdir)
        wanted = module.aggregate_key(settings)
        # Large aggregates (sorted by unit code or value, so a filter reads a few row groups)
        # stay Parquet views like the large raw tables; the small ones are loaded into memory.
        views = getattr(module, "AGGREGATE_VIEWS", ())
        for agg_name, query in module.aggregate_queries("SELECT * FROM " + table, settings).items():
            built = vdir / f"{agg_name}.parquet" if vdir else None
            if built is not None and built.exists() and meta.get("key") == wanted:
                kind = "VIEW" if agg_name in views else "TABLE"
                con.execute(f"CREATE {kind} {agg_name} AS SELECT * FROM read_parquet("
                            f"{sql_literal_path(built)})")
            else:
                # Settings changed since ingest (or no data yet): build once from raw rows.
                _create_from_parts(con, agg_name, query)
    return con


def _create_from_parts(con: duckdb.DuckDBPyConnection, name: str,
                       query: Query | Parts | SplitParts, *, sort: bool = True) -> None:
    """Table ``name`` from one query, or from parts (see ``Parts`` and ``SplitParts``); without
    ``sort`` the parts stay in the order they were built (the caller sorts while writing)."""
    if isinstance(query, Query):
        con.execute(f"CREATE TABLE {name} AS {query.sql}", query.params)
        return
    if isinstance(query, SplitParts):
        query = Parts(_split(con, query), query.order_by)
    staging = f"staging_{name}" if sort else name
    first, *rest = query.queries
    con.execute(f"CREATE TABLE {staging} AS {first.sql}", first.params)
    for part in rest:
        con.execute(f"INSERT INTO {staging} {part.sql}", part.params)
    if sort:
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {staging} "
                    f"ORDER BY {', '.join(query.order_by)}")
        con.execute(f"DROP TABLE {staging}")


def _split(con: duckdb.DuckDBPyConnection, parts: SplitParts) -> list[Query]:
    """The queries of ``parts``: ``part`` with each row of ``split`` bound (see SplitParts)."""
    cur = con.cursor()
    try:
        rows = cur.execute(parts.split.sql, parts.split.params).fetchall()
        names = [d[0] for d in cur.description]
    finally:
        cur.close()
    rows = rows or [tuple(None for _ in names)]
    return [Query(parts.part.sql, {**parts.part.params, **dict(zip(names, r))}) for r in rows]


def _agg_meta(vdir: Path | None) -> dict:
    if vdir is None:
        return {}
    p = vdir / "agg.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


# Row groups of 16k rows: a unit's rows of an aggregate read as a view (a street's communities,
# a community's grids) decode one small row group rather than 122,880 rows.
AGG_PARQUET = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384"


def build_aggregates(con: duckdb.DuckDBPyConnection, table: str, source_sql: str, out_dir: Path,
                     settings: Settings) -> None:
    """Write a table's aggregates beside its data at ingest (pages read these, not raw rows)."""
    module = AGGREGATES.get(table)
    if module is None:
        return
    built: list[str] = []  # a later aggregate may read an earlier one by its name
    for agg_name, query in module.aggregate_queries(source_sql, settings).items():
        target = out_dir / f"{agg_name}.parquet"
        if isinstance(query, (Parts, SplitParts)):
            # Sorted while written, not into a second table: a grid aggregate of tens of
            # millions of rows then spills only the sort's runs, inside the 1 GB limit.
            _create_from_parts(con, agg_name, query, sort=False)
            built.append(agg_name)
            con.execute(f"COPY (SELECT * FROM {agg_name} ORDER BY {', '.join(query.order_by)}) "
                        f"TO {sql_literal_path(target)} ({AGG_PARQUET})")
            continue
        con.execute(f"COPY ({query.sql}) TO {sql_literal_path(target)} ({AGG_PARQUET})",
                    query.params)
    for name in built:
        con.execute(f"DROP TABLE {name}")
    (out_dir / "agg.json").write_text(json.dumps({"key": module.aggregate_key(settings)}),
                                      encoding="utf-8")
