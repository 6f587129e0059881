"""Query engines: DuckDB (the default, in-process) and Apache Spark (when one machine is
outgrown), running the same metric queries over the same Parquet store.

The seam is the query, not the metric: every metric function builds a ``Query`` (DuckDB SQL and
bound parameters) and runs it through ``Query.run`` / ``scalar`` / ``row`` (metrics/db.py),
which hand it to the engine they were given. The DuckDB connection is itself the DuckDB engine
(nothing changes for it); ``SparkEngine`` translates each query with SQLGlot and runs it with
Spark SQL over temp views of the store's current versions and pre-built aggregates.

Why SQLGlot rather than a second, hand-kept copy of every query in Spark's dialect: the
metrics are defined once (docs/contract/metrics.md → one SQL text per report), and a copy would drift. SQLGlot
carries the ordinary differences (``starts_with`` → ``startswith``, ``date_diff`` → ``datediff``,
``IS NOT DISTINCT FROM``, NULLS FIRST/LAST defaults, ``VARCHAR`` → ``STRING``, ``TIMESTAMP`` →
``TIMESTAMP_NTZ``); the few constructs Spark lacks or treats differently are rewritten on the
parsed tree here, each in one place:

* ``UNION ALL BY NAME`` (Spark SQL has none): every branch selects every column, in one
  order, NULL where it has none;
* ``x IN (SELECT unnest($list))``: ``x IN (v1, v2, …)`` (false for an empty list);
* ``a / b`` → ``try_divide(a, b)``: Spark 4 runs in ANSI mode, where x / 0 raises; the metrics'
  rates already guard zero denominators with CASE, and try_divide makes any other quotient
  null on zero, as DuckDB's path gives;
* ``epoch(ts)`` → seconds with microseconds (Spark's unix_timestamp drops the fraction);
* ``to_microseconds(n)`` (an interval) → ``n * INTERVAL '0.000001' SECOND``;
* ``unnest(A)`` beside ``generate_subscripts(A, 1)`` → ``posexplode(A)``.

Parameters stay out of the SQL text where they could carry user input: every string (a unit
prefix, a filter value) is a Spark named parameter (``:name``, passed as ``args``); numbers,
dates and timestamps, made by the product from typed Python values, are written as typed
literals (``CAST('2026-11-01 00:00:00' AS TIMESTAMP_NTZ)``) so no session time zone shifts them.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import threading
import warnings
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from metrics.contract import schema as S
from metrics.db import _agg_meta, _create_from_parts, connect, empty_ddl
from metrics.domains.registry import AGGREGATES
from metrics.query import Query
from metrics.settings import Settings
from metrics.store.versions import Store

ENGINES = ("duckdb", "spark")
SPARK_URL_ENV = "GRIDBOARD_SPARK_URL"
# The store's root as the cluster reads it (hdfs://…, s3a://…, or a shared mount); unset: the
# same path as here (local[N], or a mount at the same place on every node).
SPARK_STORE_ENV = "GRIDBOARD_SPARK_STORE"
DEFAULT_SPARK_URL = "local[2]"


class EngineError(Exception):
    """The engine cannot serve this store (a message for the user, in Chinese)."""


class Engine(Protocol):
    """What a metric needs of an engine besides a DuckDB connection (see metrics/db.py)."""

    name: str

    def execute(self, query: Query) -> pd.DataFrame: ...

    def row(self, sql: str, params: dict) -> tuple | None: ...

    def close(self) -> None: ...


def engine_name(settings: Settings, explicit: str | None = None) -> str:
    name = (explicit or settings.engine or "duckdb").strip().lower()
    if name not in ENGINES:
        raise EngineError(f"未知的查询引擎 {name!r}(可用：{'/'.join(ENGINES)})")
    return name


def open_engine(store: Store, settings: Settings, *, engine: str | None = None):
    """A DuckDB connection (``engine`` "duckdb", the default) or a ``SparkEngine``; ``engine``
    overrides ``settings.engine``. Both are closed with ``close()``."""
    if engine_name(settings, engine) == "duckdb":
        return connect(store, settings)
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as e:
        raise EngineError(f"Spark 引擎未安装({e.name})：pip install -r requirements-spark.txt") from e
    try:
        return SparkEngine.open(store, settings)
    except EngineError:
        raise
    except Exception as e:  # noqa: BLE001 - no Java, no cluster: say so in one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise EngineError(f"无法连接 Spark({spark_url()})：{first}") from e


# --- DuckDB SQL → Spark SQL --------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _parsed(sql: str):
    import sqlglot

    return sqlglot.parse_one(sql, read="duckdb")


def to_spark(sql: str, params: dict | None = None) -> tuple[str, dict]:
    """(Spark SQL, named string arguments) of a DuckDB query with ``$name`` parameters."""
    from sqlglot import exp

    params = params or {}
    tree = _parsed(sql).copy()
    args: dict = {}
    for ph in list(tree.find_all(exp.Placeholder)):
        name = ph.name
        if name not in params:
            raise KeyError(f"parameter ${name} has no value")
        ph.replace(_bind(name, params[name], args))
    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.lower() == "to_microseconds":  # an INTERVAL of n microseconds
            node.replace(exp.Mul(this=exp.paren(node.expressions[0]), expression=exp.Interval(
                this=exp.Literal.string("0.000001"), unit=exp.var("SECOND"))))
    for node in list(tree.find_all(exp.Select)):
        _unnest_with_subscripts(node)
    for node in list(tree.find_all(exp.In)):
        _in_list(node)
    for node in list(tree.find_all(exp.Div)):
        node.replace(exp.func("try_divide", node.this, node.expression))
    for node in list(tree.find_all(exp.TimeToUnix)):
        micros = exp.func("unix_micros", exp.cast(node.this, exp.DataType.build("TIMESTAMP")))
        node.replace(exp.func("try_divide", exp.cast(micros, "DOUBLE"),
                              exp.Literal.number(1000000)))
    # One chain at a time, outermost first: a rewrite copies its branches, so search again.
    while (node := next((u for u in tree.find_all(exp.Union) if u.args.get("by_name")),
                        None)) is not None:
        if node is tree:
            tree = _union_by_name(node)
        else:
            node.replace(_union_by_name(node))
    return tree.sql(dialect="spark"), args


def _bind(name: str, value, args: dict):
    """The Spark expression of one parameter value (see the module docstring)."""
    from sqlglot import exp

    if value is None:
        return exp.Null()
    if isinstance(value, str):
        args[name] = value
        return exp.Placeholder(this=name)
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[_bind(f"{name}__{i}", v, args) for i, v in enumerate(value)])
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"parameter ${name} is not a finite number")
        return exp.cast(exp.Literal.number(repr(value)), "DOUBLE")
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        text = pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S.%f")
        return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    raise TypeError(f"parameter ${name}: no Spark literal for {type(value).__name__}")


def _in_list(node) -> None:
    """``x IN (SELECT unnest(<array>))`` → ``x IN (<elements>)``; an empty list → FALSE."""
    from sqlglot import exp

    query = node.args.get("query")
    if query is None:
        return
    select = query.this if isinstance(query, exp.Subquery) else query
    if not isinstance(select, exp.Select) or select.args.get("from_") or len(select.expressions) != 1:
        return
    gen = select.expressions[0]
    if not isinstance(gen, (exp.Explode, exp.Unnest)) or not isinstance(gen.this, exp.Array):
        return
    items = gen.this.expressions
    if not items:
        node.replace(exp.false())
        return
    node.set("query", None)
    node.set("expressions", items)


def _unnest_with_subscripts(select) -> None:
    """``SELECT unnest(A) AS v, generate_subscripts(A, 1) AS i`` (a list with positions) →
    ``SELECT v, i + 1 AS i FROM (SELECT posexplode(A) AS (i, v))``."""
    import sqlglot
    from sqlglot import exp

    items = select.expressions
    if len(items) != 2 or select.args.get("from_"):
        return
    value, position = items
    if not (isinstance(value, exp.Alias) and isinstance(value.this, (exp.Explode, exp.Unnest))
            and isinstance(position, exp.Alias) and isinstance(position.this, exp.Anonymous)
            and position.this.name.lower() == "generate_subscripts"):
        return
    v, i = value.alias, position.alias
    new = sqlglot.parse_one(f"SELECT {v}, {i} + 1 AS {i} FROM (SELECT posexplode(x) AS ({i}, {v}))",
                            read="spark")
    next(c for c in new.find_all(exp.Column) if c.name == "x").replace(value.this.this.copy())
    select.replace(new)


def _union_branches(node) -> list:
    from sqlglot import exp

    out = []
    for side in (node.this, node.expression):
        if isinstance(side, exp.Union) and side.args.get("by_name"):
            out += _union_branches(side)
        else:
            out.append(side)
    return out


def _union_by_name(node):
    """Rewrite a chain of ``UNION ALL BY NAME`` as plain ``UNION ALL`` of branches that each
    select every column of the chain, in first-seen order, NULL where a branch has none."""
    from sqlglot import exp

    if node.args.get("distinct"):
        raise ValueError("UNION BY NAME without ALL is not translated")
    branches = _union_branches(node)
    names: list[str] = []
    for b in branches:
        for e in b.selects:
            if e.alias_or_name not in names:
                names.append(e.alias_or_name)
    rebuilt = []
    for b in branches:
        have = {e.alias_or_name: e for e in b.selects}
        b = b.copy()
        b.set("expressions", [have[n].copy() if n in have else exp.alias_(exp.Null(), n)
                              for n in names])
        rebuilt.append(b)
    new = rebuilt[0]
    for b in rebuilt[1:]:
        new = exp.Union(this=new, expression=b, distinct=False)
    return new


# --- the Spark engine -------------------------------------------------------------------------

_LOCAL_BASE = None
_LOCAL_LOCK = threading.Lock()


def spark_url() -> str:
    return os.environ.get(SPARK_URL_ENV, "").strip() or DEFAULT_SPARK_URL


def spark_session(url: str | None = None):
    """A Spark session of its own (its own temp views) on ``url``: Spark Connect
    (``sc://host:15002``) for a cluster, else a master URL such as ``local[2]``.

    Local sessions share one JVM per process, started small (2 shuffle partitions, no web UI,
    512 MB driver): the store's tables are small once aggregated. A Connect session takes the
    cluster's own configuration."""
    from pyspark.sql import SparkSession

    # pyspark warns about pandas 3 wherever it checks the version; no result reaches pandas
    # through pyspark here (toArrow, then arrow_frame), so the warning says nothing of ours.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                            category=FutureWarning)
    url = url or spark_url()
    if url.startswith("sc://"):
        session = SparkSession.builder.remote(url).create()
    else:
        global _LOCAL_BASE
        with _LOCAL_LOCK:
            if _LOCAL_BASE is None:
                _LOCAL_BASE = (SparkSession.builder.master(url).appName("gridboard")
                               .config("spark.ui.enabled", "false")
                               .config("spark.ui.showConsoleProgress", "false")
                               .config("spark.sql.shuffle.partitions", "2")
                               .config("spark.driver.memory", "512m")
                               .config("spark.sql.session.timeZone", "UTC")
                               # Small data in one JVM: planning and code generation cost more
                               # than the rows; adaptive re-planning and whole-stage code
                               # generation pay off only on a cluster's volumes.
                               .config("spark.sql.adaptive.enabled", "false")
                               .config("spark.sql.codegen.wholeStage", "false")
                               .getOrCreate())
                _LOCAL_BASE.sparkContext.setLogLevel("ERROR")
            session = _LOCAL_BASE.newSession()
    # Timestamps are stored without zone (TIMESTAMP_NTZ) and epoch() casts through TIMESTAMP:
    # UTC keeps that cast exact whatever the cluster's zone. ANSI on, as Spark 4's default.
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.ansi.enabled", "true")
    return session


def stop_local_spark() -> None:
    """Stop the process's local JVM (the next local session starts a new one)."""
    global _LOCAL_BASE
    with _LOCAL_LOCK:
        if _LOCAL_BASE is not None:
            _LOCAL_BASE.stop()
            _LOCAL_BASE = None


def cluster_path(store: Store, path: Path) -> str:
    """``path`` (inside the store) as the cluster reads it (see SPARK_STORE_ENV)."""
    root = os.environ.get(SPARK_STORE_ENV, "").strip()
    if not root:
        return str(path)
    rel = Path(path).resolve().relative_to(Path(store.root).resolve())
    return root.rstrip("/") + "/" + rel.as_posix()


SPARK_TYPES = {"VARCHAR": "STRING", "BOOLEAN": "BOOLEAN", "BIGINT": "BIGINT", "INTEGER": "INT",
               "SMALLINT": "SMALLINT", "DOUBLE": "DOUBLE", "DATE": "DATE",
               "TIMESTAMP": "TIMESTAMP_NTZ", "HUGEINT": "DECIMAL(38,0)"}


class SparkEngine:
    """Spark SQL over temp views named like DuckDB's relations (see ``open``)."""

    name = "spark"

    def __init__(self, session, *, remote: bool = False):
        self.session = session
        self.remote = remote

    @classmethod
    def open(cls, store: Store, settings: Settings, *, session=None) -> SparkEngine:
        """Views of every table's current version and of the aggregates built at ingest.

        A table without data gets an empty view (its aggregates too, typed as DuckDB would
        build them). Aggregates built under other settings (a changed 及时响应时限) cannot be
        rebuilt here: the cluster reads only what ingest wrote, so republishing the table
        rebuilds them."""
        url = spark_url()
        engine = cls(session or spark_session(url), remote=session is None and url.startswith("sc://"))
        for name, table in S.TABLES.items():
            path = store.current_data(name)
            ddl = ", ".join(f"`{c.name}` {SPARK_TYPES[S.SQL_TYPES[c.kind]]}" for c in table.columns)
            if path is None:
                engine._empty_view(name, ddl)
            else:
                engine._parquet_view(name, cluster_path(store, path), ddl)
        agg_types = _aggregate_types(settings)
        for table, module in AGGREGATES.items():
            vdir = store.current_dir(table)
            meta = _agg_meta(vdir)
            for agg_name in module.aggregate_queries("SELECT * FROM " + table, settings):
                built = vdir / f"{agg_name}.parquet" if vdir else None
                if vdir is None:
                    engine._empty_view(agg_name, agg_types[agg_name])
                elif built.exists() and meta.get("key") == module.aggregate_key(settings):
                    engine._parquet_view(agg_name, cluster_path(store, built), agg_types[agg_name])
                else:
                    raise EngineError(
                        f"{table} 的汇总表与当前设置不符(设置修改于发布之后)："
                        "请重新发布该表，或改用 DuckDB 引擎")
        return engine

    def _parquet_view(self, name: str, path: str, ddl: str) -> None:
        # The schema is known (the contract's types; the aggregates' as DuckDB builds them):
        # given, Spark skips a job per table that would read the footers to infer it.
        self.session.read.schema(ddl).parquet(path).createOrReplaceTempView(name)

    def _empty_view(self, name: str, ddl: str) -> None:
        self.session.createDataFrame([], schema=ddl).createOrReplaceTempView(name)

    def execute(self, query: Query) -> pd.DataFrame:
        sql, args = to_spark(query.sql, query.params)
        return arrow_frame(self.session.sql(sql, args=args or None).toArrow())

    def row(self, sql: str, params: dict) -> tuple | None:
        text, args = to_spark(sql, params)
        rows = self.session.sql(text, args=args or None).take(1)
        return tuple(rows[0]) if rows else None

    def close(self) -> None:
        # A Connect session is released on the server; local sessions share one JVM, kept
        # for the next engine (their temp views go with the session object).
        if self.remote:
            self.session.stop()


def arrow_frame(table) -> pd.DataFrame:
    """A Spark result as DuckDB's ``.df()`` gives it, so pages and exports see one shape:
    integers as nullable Int64 (not float where a null appears), dates and timestamps as
    datetime64[us]."""
    import pyarrow as pa

    ints = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
            pa.int64(): pd.Int64Dtype()}
    df = table.to_pandas(types_mapper=ints.get, date_as_object=False)
    for name, field in zip(table.column_names, table.schema, strict=True):
        if pa.types.is_date(field.type) or pa.types.is_timestamp(field.type):
            df[name] = df[name].astype("datetime64[us]")
    return df


@functools.lru_cache(maxsize=8)
def _aggregate_types(settings: Settings) -> dict[str, str]:
    """The Spark DDL of every aggregate: DuckDB builds them over empty tables (milliseconds)
    and says the types of their columns, the types ingest wrote to Parquet."""
    con = duckdb.connect()
    try:
        for table in S.TABLES.values():
            con.execute(empty_ddl(table))
        out = {}
        for table, module in AGGREGATES.items():
            for agg_name, query in module.aggregate_queries("SELECT * FROM " + table,
                                                            settings).items():
                _create_from_parts(con, agg_name, query)
                cols = con.execute(f"DESCRIBE {agg_name}").fetchall()
                out[agg_name] = ", ".join(f"`{c[0]}` {SPARK_TYPES[c[1]]}" for c in cols)
        return out
    finally:
        con.close()
