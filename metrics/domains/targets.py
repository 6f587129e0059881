"""Targets and progress: the unit's own target for the year, else the nearest ancestor's
(community → street → district → city)."""

from __future__ import annotations

import calendar
import datetime as dt

import duckdb
import pandas as pd

from metrics.definitions import METRICS
from metrics.query import Query


def target_year(as_of: dt.datetime) -> int:
    """The year the period belongs to: that of the last instant before as_of (a December
    report, judged at 1 January 00:00, is measured against December's year)."""
    return (as_of - dt.timedelta(seconds=1)).year


def time_elapsed(as_of: dt.datetime) -> float:
    """时间进度: days of the year before as_of ÷ days in that year."""
    year = target_year(as_of)
    start = dt.datetime(year, 1, 1)
    days = 366 if calendar.isleap(year) else 365
    elapsed = (as_of - start).total_seconds() / 86400.0
    return max(0.0, min(1.0, elapsed / days))


def load(con: duckdb.DuckDBPyConnection, year: int) -> dict[tuple[str, str | None], float]:
    df = Query("SELECT metric, unit_code, target FROM targets WHERE year = $year",
               {"year": year}).run(con)
    return {(m, u if isinstance(u, str) else None): float(t)
            for m, u, t in df.itertuples(index=False)}


def ancestors(code: str | None) -> list[str | None]:
    """The code itself, then each enclosing unit by prefix, then the city (None)."""
    if not code:
        return [None]
    out = [code[:n] for n in (15, 12, 9, 6) if len(code) >= n]
    return list(dict.fromkeys(out)) + [None]


def lookup(table: dict, metric: str, code: str | None) -> tuple[float | None, str | None]:
    """(target, code of the unit whose target applies)."""
    for c in ancestors(code):
        if (metric, c) in table:
            return table[(metric, c)], c
    return None, None


def with_targets(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, as_of: dt.datetime) -> dict:
    """{metric: {unit_code: {"target", "target_gap", "target_met", "target_from"}}} for every
    rate column of ``df`` that has a target for the year. Units without a target are absent."""
    table = load(con, target_year(as_of))
    out: dict = {}
    for key in df.columns:
        m = METRICS.get(key)
        if m is None or not m.is_rate:
            continue
        per_unit = {}
        for code, value in zip(df["unit_code"], df[key], strict=True):
            code = code if isinstance(code, str) else None
            target, source = lookup(table, key, code)
            if target is None:
                continue
            has_value = value is not None and value == value
            per_unit[code] = {
                "target": target,
                "target_gap": (float(value) - target) if has_value else None,
                "target_met": (float(value) >= target) if has_value else None,
                "target_from": source,
            }
        if per_unit:
            out[key] = per_unit
    return out
