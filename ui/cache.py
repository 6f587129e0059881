"""The one Streamlit module of the package: caches keyed by data version.

A connection is cached per (data dir, current versions of every table, settings); a metric
result per (selection, versions of exactly the tables its domain reads, settings). A new upload
of organizations therefore recomputes coverage but keeps every cached issues result.

Streamlit hashes every cached function's arguments on every call; hashing dataclasses and
tuples costs milliseconds each, and a page makes dozens of calls. So the objects travel as
unhashed ``_`` arguments and one plain string (their reprs, which are deterministic for frozen
dataclasses and tuples) is the key.
"""

from __future__ import annotations

import sys

import duckdb
import pandas as pd
import streamlit as st

from metrics import supervision
from metrics.db import connect
from metrics.domains import registry as domains
from metrics.domains.common import Report
from metrics.domains.targets import with_targets
from metrics.engine import EngineError, open_engine
from metrics.selection import Selection, month_str
from metrics.settings import Settings
from metrics.store.versions import Store


def connection(data_dir: str, signature: tuple, settings: Settings) -> duckdb.DuckDBPyConnection:
    return _connection(data_dir, signature, settings, _key(data_dir, signature, settings))


@st.cache_resource(max_entries=3, show_spinner="正在加载数据…")
def _connection(data_dir: str, _signature: tuple, _settings: Settings,
                key: str) -> duckdb.DuckDBPyConnection:
    """DuckDB, or the engine the ``engine`` setting names (metrics/engine.py). A Spark that
    cannot serve this store (no pyspark or Java, no cluster, aggregates older than the
    settings) leaves the pages on DuckDB, which computes the same numbers, rather than
    breaking every page."""
    store = Store(data_dir)
    try:
        return open_engine(store, _settings)
    except EngineError as e:
        print(f"gridboard: {e}; pages use DuckDB", file=sys.stderr)
        return connect(store, _settings)


def table_signature(store: Store, domain: str) -> tuple:
    return store.fingerprint(domains.TABLES[domain])


def _key(*parts: object) -> str:
    return "|".join(repr(p) for p in parts)


def report(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, sig: tuple,
           settings: Settings) -> Report:
    return _report(con, domain, sel, settings, _key(domain, sel, sig, settings))


@st.cache_data(max_entries=4096, show_spinner=False)
def _report(_con: duckdb.DuckDBPyConnection, _domain: str, _sel: Selection, _settings: Settings,
            key: str) -> Report:
    return domains.report(_con, _domain, _sel, settings=_settings)


def group_report(con: duckdb.DuckDBPyConnection, domain: str, group: str, sel: Selection,
                 sig: tuple, settings: Settings) -> Report:
    """The domain's keys per 责任单位 (``registry.group_report``)."""
    return _group_report(con, domain, group, sel, settings,
                         _key("group", domain, group, sel, sig, settings))


@st.cache_data(max_entries=1024, show_spinner=False)
def _group_report(_con: duckdb.DuckDBPyConnection, _domain: str, _group: str, _sel: Selection,
                  _settings: Settings, key: str) -> Report:
    return domains.group_report(_con, _domain, _group, _sel, settings=_settings)


def group_targets(con: duckdb.DuckDBPyConnection, domain: str, group: str, sel: Selection,
                  sig: tuple, settings: Settings) -> dict:
    """Targets of the group rows: a group has no code, so the city's target applies."""
    return _group_targets(con, domain, group, sel, sig, settings,
                          _key("group_targets", domain, group, sel, sig, settings))


@st.cache_data(max_entries=1024, show_spinner=False)
def _group_targets(_con: duckdb.DuckDBPyConnection, _domain: str, _group: str, _sel: Selection,
                   _sig: tuple, _settings: Settings, key: str) -> dict:
    rep = group_report(_con, _domain, _group, _sel, _sig, _settings)
    return with_targets(_con, rep.frame, rep.as_of)


def targets(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, sig: tuple,
            settings: Settings) -> dict:
    return _targets(con, domain, sel, sig, settings, _key(domain, sel, sig, settings))


@st.cache_data(max_entries=4096, show_spinner=False)
def _targets(_con: duckdb.DuckDBPyConnection, _domain: str, _sel: Selection, _sig: tuple,
             _settings: Settings, key: str) -> dict:
    rep = report(_con, _domain, _sel, _sig, _settings)
    return with_targets(_con, rep.frame, rep.as_of)


def trend(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, months: int, sig: tuple,
          settings: Settings) -> pd.DataFrame:
    return _trend(con, domain, sel, months, sig, settings, _key(domain, sel, months, sig, settings))


@st.cache_data(max_entries=1024, show_spinner=False)
def _trend(_con: duckdb.DuckDBPyConnection, domain: str, _sel: Selection, months: int,
           _sig: tuple, _settings: Settings, key: str) -> pd.DataFrame:
    """One row per month (the last ``months`` up to the selection's last month) for the
    selection's own unit, each month judged at its own default as_of."""
    latest = domains.latest(_con, domain)
    if latest is None:
        return pd.DataFrame()
    _, last = _sel.months(latest)
    rows = []
    for m in range(last - months + 1, last + 1):
        one = _sel.with_(period_from=month_str(m), period_to=month_str(m), as_of=None)
        df = report(_con, domain, one, _sig, _settings).frame
        if df.empty:
            continue
        row = df.iloc[0].to_dict()
        row["month"] = month_str(m)
        rows.append(row)
    return pd.DataFrame(rows)


def breakdown(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, by: str, sig: tuple,
              settings: Settings) -> pd.DataFrame:
    return _breakdown(con, domain, sel, by, settings, _key(domain, sel, by, sig, settings))


@st.cache_data(max_entries=1024, show_spinner=False)
def _breakdown(_con: duckdb.DuckDBPyConnection, domain: str, _sel: Selection, by: str,
               _settings: Settings, key: str) -> pd.DataFrame:
    return domains.breakdown(_con, domain, _sel, by, settings=_settings)


def follow_up(con: duckdb.DuckDBPyConnection, which: str, sel: Selection, sig: tuple,
              settings: Settings | None = None) -> pd.DataFrame:
    """A follow-up list; ``settings`` for those that depend on one (临期任务: the due-soon days)."""
    if settings is None:
        return _follow_up(con, which, sel, None, _key(which, sel, sig))
    return _follow_up(con, which, sel, settings, _key(which, sel, sig, settings))


@st.cache_data(max_entries=256, show_spinner=False)
def _follow_up(_con: duckdb.DuckDBPyConnection, which: str, _sel: Selection,
               _settings: Settings | None, key: str) -> pd.DataFrame:
    return domains.follow_up(_con, which, _sel, settings=_settings)


def explain(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, sig: tuple,
            settings: Settings) -> dict:
    return _explain(con, domain, sel, settings, _key(domain, sel, sig, settings))


@st.cache_data(max_entries=256, show_spinner=False)
def _explain(_con: duckdb.DuckDBPyConnection, domain: str, _sel: Selection, _settings: Settings,
             key: str) -> dict:
    return domains.explain(_con, domain, _sel, settings=_settings)


def latest(con: duckdb.DuckDBPyConnection, domain: str, sig: tuple) -> int | None:
    return _latest(con, domain, _key(sig))


@st.cache_data(max_entries=64, show_spinner=False)
def _latest(_con: duckdb.DuckDBPyConnection, domain: str, key: str) -> int | None:
    return domains.latest(_con, domain)


def clear() -> None:
    """After a publish or rollback: every cache keyed by the old versions is unreachable anyway;
    dropping it frees memory at once."""
    st.cache_data.clear()
    st.cache_resource.clear()


def lights(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, sig: tuple,
           settings: Settings) -> pd.DataFrame:
    """红黄绿灯 of every rate key for each unit of ``sel.level`` (``supervision.lights``)."""
    return _lights(con, domain, sel, settings, _key("lights", domain, sel, sig, settings))


@st.cache_data(max_entries=1024, show_spinner=False)
def _lights(_con: duckdb.DuckDBPyConnection, domain: str, _sel: Selection, _settings: Settings,
            key: str) -> pd.DataFrame:
    return supervision.lights(_con, domain, _sel, settings=_settings)


def alerts(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, key: str, sig: tuple,
           settings: Settings) -> supervision.Alerts:
    """连续后进, 进步/退步, 后N名 and 失分原因 of ``key`` (``supervision.alerts``)."""
    return _alerts(con, domain, sel, key, settings, _key("alerts", domain, sel, key, sig, settings))


@st.cache_data(max_entries=256, show_spinner=False)
def _alerts(_con: duckdb.DuckDBPyConnection, domain: str, _sel: Selection, metric: str,
            _settings: Settings, key: str) -> supervision.Alerts:
    return supervision.alerts(_con, domain, _sel, metric, settings=_settings)
