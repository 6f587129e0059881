"""``python -m bench``: ingest, report latency, pandas baseline and peak memory on one data set.

    python -m bench                  10,000,000 orders, 20 timed calls per report
    python -m bench --quick          200,000 orders (smoke test)
    python -m bench --orders N --repeat K --keep DIR

Phases run as child processes of this one (``python -m bench --phase …``), each measured by
``os.wait4`` (wall time, CPU time, peak RSS of exactly that process). The parent imports no
data library until every measured child has finished.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT_DIR = HERE / "out"
ORDERS_PER_SCALE = 300_000  # metrics.demo.city: scale 1.0 = 300k work orders
GENERATE_PART_ORDERS = 5_000_000  # orders generated and written at a time
GENERATOR = "units+issues in parts"  # extracts made otherwise are made again
# Beyond this many orders the units stay those of this size (4,000 streets, ~33,000
# communities): the demo city's codes have three digits a level, and at ~35 million orders'
# worth of streets a district would need a thousand.
UNITS_MAX_ORDERS = 20_000_000
GOALS = {"report_ms": 50.0, "speedup": 20.0, "ingest_s": 120.0, "rss_mb": 2048.0,
         "app_rss_mb": 1024.0}


def goals_for(orders: int) -> dict:
    """The goals at this size: up to 10 million orders those above; beyond, the ingest may take
    12 s per million orders (10 minutes for 50 million) and 4 GB."""
    g = dict(GOALS)
    if orders > 10_000_000:
        g["ingest_s"] = 12.0 * orders / 1_000_000
        g["rss_mb"] = 4096.0
    return g
# Keys of the 问题解决 report compared between product and baseline (all of them).
COUNT_KEYS = ["reported", "due", "closed", "closed_on_time", "open_overdue", "response_due",
              "responded_in_time", "rated_resolved", "resolved", "rated_satisfaction", "satisfied"]
STEP_ORDER = ["prepare (read+validate+stage+dup keys)", "  of which duplicate keys",
              "publish (merge+sort+aggregates+commit)", "  of which aggregates"]
RATE_KEYS = ["close_rate", "on_time_rate", "response_rate", "resolve_rate", "satisfaction_rate",
             "avg_close_hours", "score"]


# --- helpers ----------------------------------------------------------------------------------


def _mb(kib: int | float) -> float:
    return round(kib / 1024.0, 1)


def _stats_ms(samples: list[float]) -> dict:
    ms = sorted(s * 1000.0 for s in samples)
    p95 = ms[min(len(ms) - 1, max(0, int(round(0.95 * len(ms))) - 1))]
    return {"median_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2),
            "min_ms": round(ms[0], 2), "max_ms": round(ms[-1], 2), "n": len(ms)}


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def _machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0))}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_total_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _run_phase(phase: str, workdir: Path, extra: list[str] | None = None) -> dict:
    """Run one phase in a fresh interpreter; its JSON result plus what the kernel measured."""
    result_path = workdir / f"phase-{phase}.json"
    result_path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench", "--phase", phase, "--workdir", str(workdir),
           *(extra or [])]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    load_before = _load()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env)
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bench: phase {phase!r} failed (exit {proc.returncode})")
    out = json.loads(result_path.read_text(encoding="utf-8"))
    out["process"] = {"wall_s": round(wall, 2), "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
                      "peak_rss_mb": _mb(ru.ru_maxrss), "load_before": load_before,
                      "load_after": _load()}
    return out


# --- phase: data ------------------------------------------------------------------------------


def phase_generate(workdir: Path, orders: int, seed: int) -> dict:
    """The synthetic city's units and work orders at the scale that gives ``orders`` orders, as
    two Parquet extracts with plain column types (strings, timestamps, booleans): what another
    system's export looks like, not pandas-specific categoricals.

    The units are the demo city's at that scale, up to ``UNITS_MAX_ORDERS``. The orders are
    made and written in parts of at most ``GENERATE_PART_ORDERS`` (each part one
    run of the demo city's order generator over the same units, with a seed of its own), so 50
    million orders never sit in memory at once. One part is exactly the demo city's orders; with
    several, each part's issue_id carries its own prefix letter so the ids stay unique.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from metrics.demo import city

    def plain(df) -> pa.Table:
        t = pa.Table.from_pandas(df, preserve_index=False)
        fields = []
        for f in t.schema:
            typ = f.type
            if pa.types.is_dictionary(typ) or pa.types.is_large_string(typ):
                typ = pa.string()
            fields.append(pa.field(f.name, typ))
        return t.cast(pa.schema(fields)).replace_schema_metadata(None)

    t0 = time.perf_counter()
    # = generate_city's units (up to UNITS_MAX_ORDERS)
    u = city._Units(np.random.default_rng([seed, 1]),
                    min(orders, UNITS_MAX_ORDERS) / ORDERS_PER_SCALE)
    units = u.frame()
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    pq.write_table(plain(units), workdir / "units.parquet", compression="zstd")
    t_write = time.perf_counter() - t0
    street_count = int((units["level"].astype(str) == "street").sum())
    n_units = int(len(units))
    del units

    parts = max(1, -(-orders // GENERATE_PART_ORDERS))
    sizes = [orders // parts + (1 if k < orders % parts else 0) for k in range(parts)]
    writer = None
    rows = 0
    tmp = workdir / "issues.parquet.part"
    for k, size in enumerate(sizes):
        t0 = time.perf_counter()
        rng = np.random.default_rng([seed, 3] if parts == 1 else [seed, 3, k])
        issues = city._issues(rng, u, size / ORDERS_PER_SCALE)
        t_gen += time.perf_counter() - t0
        t0 = time.perf_counter()
        table = plain(issues)
        del issues
        if k:
            ids = table.column("issue_id")
            table = table.set_column(table.schema.get_field_index("issue_id"), "issue_id",
                                     pc.replace_substring_regex(ids, "^GD", f"G{chr(ord('D') + k)}"
                                                                if k < 22 else f"H{k:02d}"))
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=1_000_000)
        rows += table.num_rows
        schema = table.schema
        del table
        t_write += time.perf_counter() - t0
        print(f"bench: generated part {k + 1}/{parts} ({rows:,} orders)", flush=True)
    writer.close()
    tmp.replace(workdir / "issues.parquet")
    return {"generate_s": round(t_gen, 2), "write_s": round(t_write, 2), "parts": parts,
            "rows": {"units": n_units, "issues": rows},
            "streets": street_count,
            "issues_parquet_mb": round((workdir / "issues.parquet").stat().st_size / 2**20, 1),
            "schema": {f.name: str(f.type) for f in schema}}


# --- phase: ingest ----------------------------------------------------------------------------


def phase_ingest(workdir: Path) -> dict:
    """units, then the orders, through ``metrics.store.ingest.ingest`` into a fresh store. Sub-steps
    are timed by wrapping the pipeline's own functions (no behaviour changes)."""
    import resource

    import metrics.store.ingest as ing
    from metrics.settings import load_settings
    from metrics.store.versions import Store

    store_dir = workdir / "store"
    shutil.rmtree(store_dir, ignore_errors=True)
    store = Store(store_dir)
    settings = load_settings(store_dir)
    steps: dict[str, float] = {}
    peak_after: dict[str, float] = {}  # the process's peak RSS when each step had finished

    def timed(name: str, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                steps[name] = steps.get(name, 0.0) + time.perf_counter() - t
                peak_after[name] = _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        return wrapper

    for name, attr in zip(STEP_ORDER, ("prepare", "_duplicate_keys", "publish",
                                       "build_aggregates")):
        setattr(ing, attr, timed(name, getattr(ing, attr)))

    t0, c0 = time.perf_counter(), time.process_time()
    r_units = ing.ingest(store, "units", ing.Source("units.parquet", path=workdir / "units.parquet"),
                         user="bench", settings=settings)
    t_units, c_units = time.perf_counter() - t0, time.process_time() - c0
    steps.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    peak_after.clear()
    r_issues = ing.ingest(store, "issues",
                          ing.Source("issues.parquet", path=workdir / "issues.parquet"),
                          user="bench", settings=settings)
    t_issues, c_issues = time.perf_counter() - t0, time.process_time() - c0
    vdir = store.current_dir("issues")
    files = {p.name: round(p.stat().st_size / 2**20, 1) for p in sorted(vdir.iterdir())}
    import duckdb

    con = duckdb.connect()
    agg_rows = {p.stem: con.execute(f"SELECT count(*) FROM read_parquet('{p}')").fetchone()[0]
                for p in sorted(vdir.glob("agg_*.parquet"))}
    con.close()
    return {"units_s": round(t_units, 2), "units_cpu_s": round(c_units, 2),
            "units_rows": r_units["rows"],
            "issues_s": round(t_issues, 2), "issues_cpu_s": round(c_issues, 2),
            "issues_rows": r_issues["rows"], "issues_warnings": len(r_issues["warnings"]),
            "steps_s": {k: round(v, 2) for k, v in steps.items()},
            "peak_rss_after_mb": peak_after,
            "version_files_mb": files, "aggregate_rows": agg_rows}


# --- phase: product ---------------------------------------------------------------------------


def _selections(month: str, months: int) -> dict:
    from metrics.selection import Selection, month_index, month_str

    last = month_index(month)
    return {
        "month": Selection.make("street", period=month),
        "range": Selection.make("street", period_from=month_str(last - months + 1),
                                period_to=month),
    }


def _latest_month(workdir: Path) -> str:
    import duckdb

    con = duckdb.connect()
    v = con.execute(f"SELECT max(reported_at) FROM read_parquet('{workdir / 'issues.parquet'}')"
                    ).fetchone()[0]
    con.close()
    return f"{v.year:04d}-{v.month:02d}"


def phase_product(workdir: Path, month: str, months: int, repeat: int) -> dict:
    from metrics.db import connect
    from metrics.domains import registry as domains
    from metrics.settings import load_settings
    from metrics.store.versions import Store

    store_dir = workdir / "store"
    store = Store(store_dir)
    settings = load_settings(store_dir)
    t0 = time.perf_counter()
    con = connect(store, settings)
    t_connect = time.perf_counter() - t0
    out: dict = {"connect_s": round(t_connect, 3), "reports": {}}
    for key, sel in _selections(month, months).items():
        t0 = time.perf_counter()
        rep = domains.report(con, "issues", sel, settings=settings)
        first = time.perf_counter() - t0
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            domains.report(con, "issues", sel, settings=settings)
            samples.append(time.perf_counter() - t0)
        as_of, df = rep.as_of, rep.frame
        df.to_parquet(workdir / f"product-{key}.parquet", index=False)
        out["reports"][key] = {"first_call_ms": round(first * 1000, 2), **_stats_ms(samples),
                               "selection": [sel.period_from, sel.period_to],
                               "as_of": str(as_of), "rows": int(len(df))}
    out["source_filter"] = _source_filter(con, settings, month, repeat)
    out.update(_aggregate_paths(con, settings, month, months, repeat))
    con.close()
    unequal = [k for k, v in out.items() if isinstance(v, dict) and v.get("equal") is False]
    if unequal:
        raise SystemExit(f"bench: aggregate and raw orders DIFFER for {', '.join(unequal)}")
    return out


def _both_paths(con, settings, sel, repeat: int) -> dict:
    """One selection's 问题解决 report from its aggregate and from the raw orders, in the same
    run: median/p95 of each, their ratio and whether the frames are equal."""
    import pandas as pd

    from metrics.domains import issues

    out: dict = {"path": issues.path_for(con, sel, issues.resolve(con, sel))}
    frames = {}
    for name, raw in (("aggregate", False), ("raw", True)):
        frames[name] = issues.report(con, sel, settings=settings, force_raw=raw).frame
        samples = []
        for _ in range(max(3, repeat // 4) if raw else repeat):
            t0 = time.perf_counter()
            issues.report(con, sel, settings=settings, force_raw=raw)
            samples.append(time.perf_counter() - t0)
        out[name] = _stats_ms(samples)
    try:
        pd.testing.assert_frame_equal(frames["aggregate"], frames["raw"], check_exact=False,
                                      rtol=1e-9, atol=1e-9)
        out["equal"] = True
    except AssertionError:
        out["equal"] = False
    out["rows"] = int(len(frames["aggregate"]))
    out["ratio"] = round(out["raw"]["median_ms"] / out["aggregate"]["median_ms"], 1)
    return out


def _source_filter(con, settings, month: str, repeat: int) -> dict:
    """The one-month street report under a 工单来源 filter, from the by-source aggregate and
    from the raw orders (the path it took before that aggregate), in the same run; equal."""
    from metrics.selection import Selection

    sel = Selection.make("street", period=month, filters={"source": ["12345热线"]})
    return _both_paths(con, settings, sel, repeat)


def _aggregate_paths(con, settings, month: str, months: int, repeat: int) -> dict:
    """The street report under a 问题类别 filter (the most common category), and the
    community and grid reports of the busiest street and of its busiest community, for one
    month and for ``months`` months: each from its aggregate and from the raw orders."""
    from metrics.query import row
    from metrics.selection import Selection, month_index, month_str

    m = month_index(month)
    category = row(con, "SELECT category FROM agg_issues_category ORDER BY n DESC, category")[0]
    street = row(con, "SELECT street FROM agg_issues_street WHERE rm = $m AND e = rm "
                 "ORDER BY reported DESC, street", {"m": m})[0]
    community = row(con, "SELECT community_code FROM agg_issues_community WHERE rm = $m "
                    "AND e = rm AND starts_with(community_code, $s) "
                    "ORDER BY reported DESC, community_code", {"m": m, "s": street})[0]
    span = {"period_from": month_str(m - months + 1), "period_to": month}
    sels = {
        "category_filter": Selection.make("street", period=month,
                                          filters={"category": [category]}),
        "community": Selection.make("community", period=month, unit=street),
        "community_range": Selection.make("community", unit=street, **span),
        "grid": Selection.make("grid", period=month, unit=community),
        "grid_range": Selection.make("grid", unit=community, **span),
    }
    out = {key: _both_paths(con, settings, sel, repeat) for key, sel in sels.items()}
    out["category_filter"]["category"] = category
    for key in ("community", "community_range"):
        out[key]["unit"] = street
    for key in ("grid", "grid_range"):
        out[key]["unit"] = community
    return out


# --- phase: app ----------------------------------------------------------------------------

APP_LEVELS = ("city", "district", "street")


def phase_app(workdir: Path, repeat: int) -> dict:
    """The store opened the way the app opens it (``metrics.db.connect``), then the reports a
    leader's pages make for the default month: every domain at city, district and street level
    (a page's own unit row and its ranking), once cold and ``repeat`` times warm. The process's
    peak RSS is the app's memory for data (the Streamlit server adds its own ~200 MB)."""
    import resource

    from metrics.db import connect
    from metrics.domains import registry as domains
    from metrics.selection import Selection, month_str
    from metrics.settings import load_settings
    from metrics.store.versions import Store

    def rss_mb() -> float:
        return _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    store_dir = workdir / "store"
    store = Store(store_dir)
    settings = load_settings(store_dir)
    t0 = time.perf_counter()
    con = connect(store, settings)
    out: dict = {"connect_s": round(time.perf_counter() - t0, 3),
                 "rss_after_connect_mb": rss_mb(), "reports": {}}
    month = month_str(domains.default_month(con))
    out["month"] = month
    for domain, levels in domains.LEVELS.items():
        for level in APP_LEVELS:
            if level not in levels:
                continue
            sel = Selection.make(level, period=month)
            t0 = time.perf_counter()
            df = domains.report(con, domain, sel, settings=settings)
            first = time.perf_counter() - t0
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                domains.report(con, domain, sel, settings=settings)
                samples.append(time.perf_counter() - t0)
            out["reports"][f"{domain}/{level}"] = {
                "first_call_ms": round(first * 1000, 2), **_stats_ms(samples),
                "rows": int(len(df.frame))}
    con.close()
    out["rss_after_reports_mb"] = rss_mb()
    meds = {k: v["median_ms"] for k, v in out["reports"].items()}
    out["slowest"] = max(meds, key=meds.get)
    out["max_median_ms"] = meds[out["slowest"]]
    return out


# --- phase: pandas baseline -------------------------------------------------------------------

BASELINE_COLUMNS = ["community_code", "reported_at", "due_at", "responded_at", "closed_at",
                    "resolved", "satisfaction"]


def _baseline_load(workdir: Path):
    """What a pandas dashboard would hold: the raw orders (needed columns), a street column,
    the cap (one second after the newest timestamp) and the list of streets.

    Read with pyarrow, the street cut from the community code there and every string column
    made a category before pandas sees it: 50 million rows as Python strings would not fit
    (about 10 GB); as categories and nullable booleans they take about 2 GB."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(workdir / "issues.parquet", columns=BASELINE_COLUMNS)
    street = pc.utf8_slice_codeunits(t.column("community_code"), 0, 9).dictionary_encode()
    t = t.drop_columns(["community_code"])
    t = t.set_column(t.schema.get_field_index("satisfaction"), "satisfaction",
                     t.column("satisfaction").dictionary_encode())
    t = t.append_column("street", street)
    del street
    df = t.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get, self_destruct=True)
    del t
    rep = df["reported_at"].max()
    cap = max(rep, df["responded_at"].max() if df["responded_at"].notna().any() else rep,
              df["closed_at"].max() if df["closed_at"].notna().any() else rep)
    cap = cap + pd.Timedelta(seconds=1)
    latest = rep.year * 12 + rep.month - 1
    units = pd.read_parquet(workdir / "units.parquet", columns=["code", "name", "level"])
    streets = units[units["level"] == "street"].sort_values("code")
    return df, cap, latest, streets


def _baseline_report(df, cap, streets, first: int, last: int, settings):
    """docs/contract/metrics.md 问题解决 for every street, straight from the raw orders with pandas."""
    import numpy as np
    import pandas as pd

    from metrics.selection import month_start

    start, end = pd.Timestamp(month_start(first)), pd.Timestamp(month_start(last + 1))
    as_of = min(end, cap)
    response_seconds = float(settings.response_hours) * 3600.0
    rep = df["reported_at"]
    d = df[(rep >= start) & (rep < end) & (rep < as_of)]
    closed = d["closed_at"] < as_of
    due_passed = d["due_at"] < as_of
    responded = d["responded_at"] < as_of
    deadline = (d["reported_at"] + pd.Timedelta(microseconds=round(response_seconds * 1e6))) < as_of
    resp_s = (d["responded_at"] - d["reported_at"]).dt.total_seconds()
    resolved = d["resolved"]
    sat = d["satisfaction"]
    facts = pd.DataFrame({
        "street": d["street"],
        "reported": 1,
        "due": closed | due_passed,
        "closed": closed,
        "closed_on_time": closed & (d["closed_at"] <= d["due_at"]),
        "open_overdue": ~closed & due_passed,
        "response_due": responded | deadline,
        "responded_in_time": responded & (resp_s <= response_seconds),
        "rated_resolved": closed & resolved.notna(),
        "resolved": closed & resolved.fillna(False).astype(bool),
        "rated_satisfaction": closed & sat.notna(),
        "satisfied": closed & sat.isin(["满意", "基本满意"]),
        "close_seconds": (d["closed_at"] - d["reported_at"]).dt.total_seconds().where(closed, 0.0),
    })
    g = facts.groupby("street", observed=True).sum()
    g = g.reindex(streets["code"].to_numpy(), fill_value=0)
    out = pd.DataFrame({"unit_code": streets["code"].to_numpy(),
                        "unit_name": streets["name"].to_numpy()})
    for k in COUNT_KEYS:
        out[k] = g[k].to_numpy().astype("int64")

    def rate(num, den):
        n, dd = np.asarray(num, dtype="float64"), np.asarray(den, dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(dd == 0, np.nan, n / dd)

    out["close_rate"] = rate(out["closed"], out["due"])
    out["on_time_rate"] = rate(out["closed_on_time"], out["due"])
    out["response_rate"] = rate(out["responded_in_time"], out["response_due"])
    out["resolve_rate"] = rate(out["resolved"], out["rated_resolved"])
    out["satisfaction_rate"] = rate(out["satisfied"], out["rated_satisfaction"])
    closed_n = out["closed"].to_numpy().astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["avg_close_hours"] = np.where(closed_n == 0, np.nan,
                                          g["close_seconds"].to_numpy() / closed_n / 3600.0)
    out["score"] = 100 * (settings.w_response * out["response_rate"]
                          + settings.w_resolve * out["resolve_rate"]
                          + settings.w_satisfaction * out["satisfaction_rate"])
    return out, as_of


def phase_baseline(workdir: Path, month: str, months: int, repeat: int, cold_repeat: int) -> dict:
    from metrics.settings import load_settings

    settings = load_settings(workdir / "store")
    sels = _selections(month, months)
    from metrics.selection import month_index

    out: dict = {"reports": {}}
    t0 = time.perf_counter()
    df, cap, latest, streets = _baseline_load(workdir)
    out["load_s"] = round(time.perf_counter() - t0, 3)
    out["rows"] = int(len(df))
    for key, sel in sels.items():
        first, last = month_index(sel.period_from), month_index(sel.period_to)
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            res, as_of = _baseline_report(df, cap, streets, first, last, settings)
            samples.append(time.perf_counter() - t0)
        res.to_parquet(workdir / f"baseline-{key}.parquet", index=False)
        out["reports"][key] = {**_stats_ms(samples), "as_of": str(as_of)}
    del df
    # The same with the read inside the timing (a script that reads the file per report).
    for key, sel in sels.items():
        first, last = month_index(sel.period_from), month_index(sel.period_to)
        samples = []
        for _ in range(cold_repeat):
            t0 = time.perf_counter()
            d2, cap2, _, st2 = _baseline_load(workdir)
            _baseline_report(d2, cap2, st2, first, last, settings)
            samples.append(time.perf_counter() - t0)
            del d2
        out["reports"][key]["with_read"] = _stats_ms(samples)
    return out


# --- comparison -------------------------------------------------------------------------------


def compare(workdir: Path, key: str) -> dict:
    """Product and baseline numbers for one selection: counts exactly equal, rates equal up to
    floating-point rounding (both divide the same integers)."""
    import numpy as np
    import pandas as pd

    p = pd.read_parquet(workdir / f"product-{key}.parquet")
    b = pd.read_parquet(workdir / f"baseline-{key}.parquet")
    problems = []
    if list(p["unit_code"]) != list(b["unit_code"]):
        problems.append("different street rows")
        return {"equal": False, "problems": problems}
    for k in COUNT_KEYS:
        pv, bv = p[k].to_numpy().astype("int64"), b[k].to_numpy().astype("int64")
        if not np.array_equal(pv, bv):
            i = int(np.flatnonzero(pv != bv)[0])
            problems.append(f"{k}: {p['unit_code'].iloc[i]} product {pv[i]} baseline {bv[i]}")
    max_rel = 0.0
    for k in RATE_KEYS:
        pv = pd.to_numeric(p[k], errors="coerce").to_numpy(dtype="float64")
        bv = pd.to_numeric(b[k], errors="coerce").to_numpy(dtype="float64")
        if not np.array_equal(np.isnan(pv), np.isnan(bv)):
            problems.append(f"{k}: null in one side only")
            continue
        ok = ~np.isnan(pv)
        if ok.any():
            rel = np.abs(pv[ok] - bv[ok]) / np.maximum(np.abs(bv[ok]), 1e-300)
            max_rel = max(max_rel, float(rel.max()))
            if not np.allclose(pv[ok], bv[ok], rtol=1e-12, atol=0.0):
                problems.append(f"{k}: differs (max relative {rel.max():.3g})")
    totals = {k: int(p[k].sum()) for k in ("reported", "due", "closed", "open_overdue")}
    return {"equal": not problems, "problems": problems, "rows": int(len(p)),
            "max_relative_rate_diff": max_rel, "totals": totals}


# --- driver -----------------------------------------------------------------------------------


def _fmt_row(cells: list, widths: list[int]) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()


def _app_rows(res: dict, add) -> None:
    app = res.get("app")
    if not app:
        return
    g = res["goal_values"]
    add("app: connect (db.connect, cold)", f"{app['connect_s'] * 1000:.0f} ms")
    for name, r in app["reports"].items():
        add(f"app: report {name}", f"median {r['median_ms']:.1f} ms (first {r['first_call_ms']:.0f})")
    add("app: slowest report median", f"{app['max_median_ms']:.1f} ms ({app['slowest']})",
        f"<= {g['report_ms']:.0f} ms", res["goals"]["app_reports"]["ok"])
    add("app peak RSS (connect + every report)", f"{app['process']['peak_rss_mb']:,.0f} MB",
        f"<= {g['app_rss_mb']:,.0f} MB", res["goals"]["app_rss"]["ok"])


def _print_table(res: dict) -> None:
    g, ing, prod, base = res["generate"], res["ingest"], res["product"], res["baseline"]
    goals = res["goals"]
    gv = res.get("goal_values", GOALS)
    rows = [["measure", "value", "goal", "status"]]

    def add(name, value, goal="", ok=None):
        rows.append([name, value, goal, "" if ok is None else ("PASS" if ok else "FAIL")])

    add("orders (work orders)", f"{g['rows']['issues']:,}")
    add("streets / units (all levels)", f"{g['streets']} / {g['rows']['units']:,}")
    for name, n in ing["aggregate_rows"].items():
        add(f"aggregate rows {name}", f"{n:,}")
    add("ingest units", f"{ing['units_s']:.2f} s")
    add("ingest orders (validate+publish)", f"{ing['issues_s']:.1f} s (cpu {ing['issues_cpu_s']:.0f} s)",
        f"<= {gv['ingest_s']:.0f} s", goals["ingest"]["ok"])
    for k in STEP_ORDER:
        if k in ing["steps_s"]:
            add(f"  {k}", f"{ing['steps_s'][k]:.1f} s")
    add("ingest peak RSS", f"{ing['process']['peak_rss_mb']:,.0f} MB",
        f"<= {gv['rss_mb']:,.0f} MB", goals["ingest_rss"]["ok"])
    add("connect (db.connect, cold)", f"{prod['connect_s'] * 1000:.0f} ms")
    for key, label in (("month", "1 month"), ("range", "12 months")):
        r, b = prod["reports"][key], base["reports"][key]
        add(f"report street {label} ({r['selection'][0]}..{r['selection'][1]})",
            f"median {r['median_ms']:.1f} ms (p95 {r['p95_ms']:.1f}, first {r['first_call_ms']:.0f})",
            f"<= {GOALS['report_ms']:.0f} ms", goals[f"report_{key}"]["ok"])
        add(f"  pandas baseline {label}", f"median {b['median_ms']:.0f} ms (in-memory frame)")
        add(f"  pandas baseline {label} incl. read", f"median {b['with_read']['median_ms']:.0f} ms")
        add(f"  ratio baseline/product {label}", f"{res['ratio'][key]['in_memory']:.0f}x "
            f"(incl. read {res['ratio'][key]['with_read']:.0f}x)",
            f">= {GOALS['speedup']:.0f}x", goals[f"speedup_{key}"]["ok"])
        add(f"  numbers equal ({res['compare'][key]['rows']} streets)",
            "yes" if res["compare"][key]["equal"] else "NO: " + "; ".join(res["compare"][key]["problems"][:3]),
            "equal", res["compare"][key]["equal"])
    for key, label in (("source_filter", "report street 1 month, source filter"),
                       ("category_filter", "report street 1 month, category filter"),
                       ("community", "report community 1 month (one street)"),
                       ("community_range", "report community 12 months (one street)"),
                       ("grid", "report grid 1 month (one community)"),
                       ("grid_range", "report grid 12 months (one community)")):
        sf = prod.get(key)
        if sf:
            add(label, f"median {sf['aggregate']['median_ms']:.1f} ms (p95 "
                f"{sf['aggregate']['p95_ms']:.1f}); raw orders {sf['raw']['median_ms']:.0f} ms "
                f"(p95 {sf['raw']['p95_ms']:.0f}), {sf['ratio']:.0f}x",
                f"<= {GOALS['report_ms']:.0f} ms, equal",
                sf["equal"] and sf["aggregate"]["median_ms"] <= GOALS["report_ms"])
    add("product peak RSS (connect+reports)", f"{prod['process']['peak_rss_mb']:,.0f} MB",
        f"<= {gv['rss_mb']:,.0f} MB", goals["product_rss"]["ok"])
    add("baseline peak RSS", f"{base['process']['peak_rss_mb']:,.0f} MB")
    add("baseline load (read Parquet)", f"{base['load_s']:.1f} s")
    _app_rows(res, add)
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    print()
    for i, r in enumerate(rows):
        print(_fmt_row(r, widths))
        if i == 0:
            print(_fmt_row(["-" * w for w in widths], widths))
    m = res["machine"]
    print(f"\nmachine: {m.get('cpu_model', '?')}, {m['cpus_usable']} usable cores, "
          f"{m.get('mem_total_gib', '?')} GiB; python {m['python']}; "
          f"load average at start {res['load_start']} / end {res['load_end']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=20, help="timed calls per report (median)")
    ap.add_argument("--baseline-repeat", type=int, default=None,
                    help="timed baseline calls per report (default: min(repeat, 5))")
    ap.add_argument("--quick", action="store_true", help="200,000 orders (smoke test)")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (data, store, "
                    "results); Parquet extracts already there for the same orders and seed "
                    "are reused")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--month", help="the report month YYYY-MM (default: latest with data)")
    ap.add_argument("--months", type=int, default=12, help="length of the range report")
    ap.add_argument("--out", default=str(OUT_DIR / "results.json"))
    ap.add_argument("--skip-app", action="store_true",
                    help="leave out the app phase (every domain's reports and their peak RSS)")
    # internal: one phase in this process
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.phase:
        return _phase_main(args)

    orders = 200_000 if args.quick else args.orders
    base_repeat = args.baseline_repeat or min(args.repeat, 5)
    if args.keep:
        workdir = Path(args.keep).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="gridboard-bench-"))
    res: dict = {"orders": orders, "repeat": args.repeat, "baseline_repeat": base_repeat,
                 "seed": args.seed, "machine": _machine(), "load_start": _load(),
                 "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "workdir": str(workdir)}
    print(f"bench: {orders:,} orders, workdir {workdir}", flush=True)
    try:
        marker = workdir / "generate.json"
        same = (marker.exists() and (workdir / "issues.parquet").exists()
                and json.loads(marker.read_text())["key"] == [orders, args.seed, GENERATOR])
        if same:
            res["generate"] = json.loads(marker.read_text())["result"]
            print("bench: reusing the Parquet extracts in", workdir, flush=True)
        else:
            print("bench: generating data (not timed as ingest) …", flush=True)
            res["generate"] = _run_phase("generate", workdir,
                                         ["--orders", str(orders), "--seed", str(args.seed)])
            _write_json(marker, {"key": [orders, args.seed, GENERATOR], "result": res["generate"]})
        print("bench: ingest …", flush=True)
        res["ingest"] = _run_phase("ingest", workdir)
        month = args.month or _latest_month_child(workdir)
        sel_args = ["--month", month, "--months", str(args.months)]
        print(f"bench: product reports ({month}, {args.months} months) …", flush=True)
        res["product"] = _run_phase("product", workdir, [*sel_args, "--repeat", str(args.repeat)])
        if not args.skip_app:
            print("bench: app (connect + every domain's reports, peak RSS) …", flush=True)
            res["app"] = _run_phase("app", workdir, ["--repeat", str(max(3, args.repeat // 4))])
        print("bench: pandas baseline …", flush=True)
        res["baseline"] = _run_phase("baseline", workdir,
                                     [*sel_args, "--repeat", str(base_repeat)])
        res["compare"] = {k: compare(workdir, k) for k in ("month", "range")}
        res["load_end"] = _load()
        res["ratio"] = {}
        for k in ("month", "range"):
            p = res["product"]["reports"][k]["median_ms"]
            b = res["baseline"]["reports"][k]
            res["ratio"][k] = {"in_memory": round(b["median_ms"] / p, 1),
                               "with_read": round(b["with_read"]["median_ms"] / p, 1)}
        goals = res["goal_values"] = goals_for(orders)
        res["goals"] = {
            "ingest": {"value_s": res["ingest"]["issues_s"], "ok": res["ingest"]["issues_s"] <= goals["ingest_s"]},
            "ingest_rss": {"value_mb": res["ingest"]["process"]["peak_rss_mb"],
                           "ok": res["ingest"]["process"]["peak_rss_mb"] <= goals["rss_mb"]},
            "product_rss": {"value_mb": res["product"]["process"]["peak_rss_mb"],
                            "ok": res["product"]["process"]["peak_rss_mb"] <= goals["rss_mb"]},
        }
        if "app" in res:
            res["goals"]["app_rss"] = {"value_mb": res["app"]["process"]["peak_rss_mb"],
                                       "ok": res["app"]["process"]["peak_rss_mb"] <= goals["app_rss_mb"]}
            res["goals"]["app_reports"] = {"value_ms": res["app"]["max_median_ms"],
                                           "ok": res["app"]["max_median_ms"] <= goals["report_ms"]}
        for k in ("month", "range"):
            med = res["product"]["reports"][k]["median_ms"]
            res["goals"][f"report_{k}"] = {"value_ms": med, "ok": med <= GOALS["report_ms"]}
            res["goals"][f"speedup_{k}"] = {
                "value": res["ratio"][k]["in_memory"],
                "ok": res["ratio"][k]["in_memory"] >= GOALS["speedup"] and res["compare"][k]["equal"]}
        res["all_goals_met"] = all(g["ok"] for g in res["goals"].values())
        _print_table(res)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_json(out, res)
        if args.keep:
            _write_json(workdir / "results.json", res)
        print(f"\nresults: {out}")
        if not all(c["equal"] for c in res["compare"].values()):
            print("bench: product and baseline numbers DIFFER", file=sys.stderr)
            return 1
        if not res["product"].get("source_filter", {}).get("equal", True):
            print("bench: the by-source aggregate and the raw orders DIFFER", file=sys.stderr)
            return 1
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _latest_month_child(workdir: Path) -> str:
    r = _run_phase("latest", workdir)
    return r["month"]


def _phase_main(args: argparse.Namespace) -> int:
    workdir = Path(args.workdir)
    if args.phase == "generate":
        out = phase_generate(workdir, args.orders, args.seed)
    elif args.phase == "ingest":
        out = phase_ingest(workdir)
    elif args.phase == "latest":
        out = {"month": _latest_month(workdir)}
    elif args.phase == "product":
        out = phase_product(workdir, args.month, args.months, args.repeat)
    elif args.phase == "app":
        out = phase_app(workdir, args.repeat)
    elif args.phase == "baseline":
        out = phase_baseline(workdir, args.month, args.months, args.repeat,
                             cold_repeat=max(1, min(3, args.repeat)))
    else:
        raise SystemExit(f"unknown phase {args.phase}")
    _write_json(workdir / f"phase-{args.phase}.json", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
