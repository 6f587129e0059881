"""Ingest: read → validate → merge with the stored table → aggregates → publish a version.

Everything from reading the stored references to switching the current pointer happens under
the store lock, so two ingests cannot interleave. A rejected file changes nothing in the store
except one line in the audit log.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from metrics.contract import schema as S
from metrics.contract.readers import RawFrame, ReadError, detect_format, iter_parquet, read_extract
from metrics.contract.validate import (
    DUPLICATE_ROWS_NAMED,
    MAX_PROBLEMS,
    UNIQUE,
    Checked,
    Problem,
    RefContext,
    check,
    duplicate_rows_text,
)
from metrics.db import build_aggregates, select_typed, sql_literal_path
from metrics.settings import Settings
from metrics.store.versions import Store, crash_point, now_local

# Sort order of each stored table: rows a page reads together sit in the same row groups.
SORT = {
    "units": "code",
    "organizations": "period, community_code, org_id",
    # Orders by report month, then community: a month and a unit read only a few row groups.
    "issues": "year(reported_at) * 12 + month(reported_at), community_code, reported_at, issue_id",
    "pairings": "pairing_id",
    "projects": "project_id",
    "checkins": "period, community_code",
    "targets": "year, metric, unit_code",
    # Snapshots by period first: a report reads one period's row groups.
    "grids": "period, grid_code",
    "compounds": "period, community_code, compound_id",
    "tasks": "task_id",
}
MAX_WARNINGS_KEPT = 1000  # in version metadata; the count is always exact
KEPT_ROWS = 1000  # of a chunked upload's typed rows, kept in memory for previews


class Rejected(Exception):
    """The file was not published; ``report`` says why (errors with row and column)."""

    def __init__(self, report: Checked | None, message: str | None = None):
        self.report = report
        self.message = message or (f"文件有 {len(report.errors)} 处错误，未发布" if report else "")
        super().__init__(self.message)

    @property
    def errors(self) -> list[Problem]:
        if self.report is not None:
            return self.report.errors
        return [Problem(None, "", "", self.message)]


@dataclass
class Source:
    """An upload: its bytes (or a path for large files) and the name the analyst gave it."""

    file_name: str
    content: bytes | None = None
    path: Path | None = None

    def head(self) -> bytes:
        if self.content is not None:
            return self.content[:8]
        with open(self.path, "rb") as fh:
            return fh.read(8)

    def bytes(self) -> bytes:
        return self.content if self.content is not None else Path(self.path).read_bytes()

    def sha256(self) -> str:
        h = hashlib.sha256()
        if self.content is not None:
            h.update(self.content)
        else:
            with open(self.path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        return h.hexdigest()

    @property
    def safe_name(self) -> str:
        """The file name without any path parts (a name like ../../x never leaves the store)."""
        return Path(self.file_name.replace("\\", "/")).name or "upload"


@dataclass
class Prepared:
    table: S.Table
    source: Source
    checked: Checked
    staged: Path | None = None  # typed rows as Parquet (large files); else checked.frame
    row_count: int = 0
    changes: dict = field(default_factory=dict)


def ref_context(store: Store, table: S.Table, *, replace: bool = False) -> RefContext:
    units = None
    path = store.current_data("units")
    if path is not None and not (table.name == "units" and replace):
        units = pd.read_parquet(path, columns=["code", "level", "parent_code"])
    pairing_ids = None
    if table.name == "projects":
        p = store.current_data("pairings")
        pairing_ids = set(pd.read_parquet(p, columns=["pairing_id"])["pairing_id"]) if p else set()
    return RefContext(units=units, pairing_ids=pairing_ids)


def prepare(store: Store, table_name: str, source: Source, *, replace: bool = False,
            workdir: Path | None = None) -> Prepared:
    """Read and validate ``source`` as ``table_name``; raises ``Rejected`` on any error.

    Large Parquet files are checked chunk by chunk and staged to ``workdir``; the others are
    checked whole in memory.
    """
    table = S.TABLES[table_name]
    ctx = ref_context(store, table, replace=replace)
    try:
        fmt = detect_format(source.file_name, source.head())
        if fmt == "parquet":
            return _prepare_chunked(table, source, ctx, workdir)
        raw = read_extract(source.bytes(), source.file_name, table)
    except ReadError as e:
        raise Rejected(None, str(e)) from None
    checked = check(raw, table, ctx)
    if not checked.ok:
        raise Rejected(checked)
    return Prepared(table, source, checked, row_count=len(checked.frame))


def _prepare_chunked(table: S.Table, source: Source, ctx: RefContext,
                     workdir: Path | None) -> Prepared:
    workdir = Path(workdir or tempfile.mkdtemp(prefix="gridboard-"))
    staged = workdir / "staged.parquet"
    writer = None
    first: Checked | None = None
    errors: list[Problem] = []
    warnings: list[Problem] = []
    rows = 0
    header_of: dict[str, str] = {}
    for raw in iter_parquet(source.path if source.path else source.content):
        chk = check(raw, table, ctx, check_keys=False)
        if first is None:
            first = chk
            header_of = {v: k for k, v in chk.mapping.items()}
            errors += chk.errors
            warnings += chk.warnings
        else:  # a problem of the header (no row: a missing column) is reported once, not per chunk
            errors += [p for p in chk.errors if p.row is not None]
            warnings += [p for p in chk.warnings if p.row is not None]
        if not errors:  # once there are errors: keep reading to report every bad row, stage nothing
            t = pa.Table.from_pandas(chk.frame, preserve_index=False)
            t = t.append_column("_row", pa.array(raw.rows.to_numpy(dtype="int64")))
            if writer is None:
                writer = pq.ParquetWriter(staged, t.schema, compression="zstd")
            writer.write_table(t)
            rows += t.num_rows
            del t
        # Only one chunk in memory at a time: drop this one before reading the next.
        del raw, chk
        _release_memory()
    if writer is not None:
        writer.close()
    assert first is not None
    # The staged Parquet holds every row; of the first chunk only its head stays (the upload
    # page's preview). The whole chunk (a million rows) would otherwise sit in memory beside
    # DuckDB's budget for the rest of the ingest.
    first.frame = first.frame.head(KEPT_ROWS).copy()
    first.rows = first.rows.head(KEPT_ROWS).copy()
    _release_memory()
    first.errors, first.warnings = errors, warnings
    if not errors:
        errors += _duplicate_keys(table, staged, header_of)
        first.errors = errors
    if errors:
        raise Rejected(first)
    return Prepared(table, source, first, staged=staged, row_count=rows)


def _release_memory() -> None:
    """Hand memory freed by a validated chunk back to the system (Arrow's pool and the C heap
    keep it otherwise, and DuckDB's own budget comes on top during publish)."""
    pa.default_memory_pool().release_unused()
    if _malloc_trim is not None:
        _malloc_trim(0)


def _find_malloc_trim():
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


_malloc_trim = _find_malloc_trim()


def _duplicate_keys(table: S.Table, staged: Path, header_of: dict[str, str]) -> list[Problem]:
    cols, report_col, reason = UNIQUE[table.name]
    keys = ", ".join(f'"{c}"' for c in cols)
    con = _scratch_connection()
    try:
        # A grouped count in bounded memory first: most files have no duplicate at all, and
        # then the window over every row (which holds all of them) is not needed.
        dupes = con.execute(
            f"""SELECT count(*) FROM (SELECT {keys} FROM read_parquet({sql_literal_path(staged)})
                  GROUP BY ALL HAVING count(*) > 1)"""
        ).fetchone()[0]
        if not dupes:
            return []
        # Every row of a repeated key, each naming the rows it shares the key with (the first
        # few of a large group, and the group's size).
        match = " AND ".join(f'd."{c}" IS NOT DISTINCT FROM g."{c}"' for c in cols)
        src = f"read_parquet({sql_literal_path(staged)})"
        rows = con.execute(
            f"""SELECT d._row, CAST(d."{report_col}" AS VARCHAR), g.n, g.first_rows
                FROM {src} d JOIN (
                  SELECT {keys}, count(*) AS n,
                         list(_row ORDER BY _row)[1:{DUPLICATE_ROWS_NAMED}] AS first_rows
                  FROM {src} GROUP BY ALL HAVING count(*) > 1) g ON {match}
                ORDER BY d._row LIMIT {MAX_PROBLEMS}"""
        ).fetchall()
    finally:
        con.close()
    title = header_of.get(report_col, table.column(report_col).label)
    return [Problem(int(r), title, v or "", reason + duplicate_rows_text(list(first), int(n)))
            for r, v, n, first in rows]


def _incoming_sql(prepared: Prepared, con: duckdb.DuckDBPyConnection) -> str:
    """The prepared rows, cast to storage types (a SELECT)."""
    if prepared.staged is not None:
        return select_typed(prepared.table, f"read_parquet({sql_literal_path(prepared.staged)})")
    con.register("incoming_frame", prepared.checked.frame)
    return select_typed(prepared.table, "incoming_frame")


def _key_match(table: S.Table, a: str, b: str) -> str:
    return " AND ".join(f'{a}."{k}" IS NOT DISTINCT FROM {b}."{k}"' for k in table.key)


def changes(store: Store, prepared: Prepared, *, replace: bool = False) -> dict:
    """What publishing would do: rows inserted / updated / replaced, periods affected."""
    con = _scratch_connection()
    try:
        return _changes(con, store, prepared, replace=replace)
    finally:
        con.close()


def _changes(con: duckdb.DuckDBPyConnection, store: Store, prepared: Prepared, *,
             replace: bool) -> dict:
    table = prepared.table
    old = store.current_data(table.name)
    # Staged rows that replace everything are read once more only, by the sorted COPY: a view
    # over the staged Parquet, not a copy of every row into DuckDB's (spilling) memory.
    kind = "VIEW" if prepared.staged is not None and (old is None or replace) else "TABLE"
    con.execute(f"CREATE OR REPLACE TEMP {kind} incoming AS {_incoming_sql(prepared, con)}")
    n_new = con.execute("SELECT count(*) FROM incoming").fetchone()[0]
    out = {"rows_in_file": int(n_new), "inserted": int(n_new), "updated": 0, "removed": 0,
           "mode": "replace" if replace else table.merge, "periods": []}
    if "period" in table.names:
        out["periods"] = [r[0].strftime("%Y-%m") for r in con.execute(
            "SELECT DISTINCT period FROM incoming ORDER BY 1").fetchall()]
    if old is None:
        out["rows_after"] = out["inserted"]
        return out
    con.execute(f"CREATE OR REPLACE TEMP VIEW stored AS SELECT * FROM read_parquet({sql_literal_path(old)})")
    n_old = con.execute("SELECT count(*) FROM stored").fetchone()[0]
    matched = con.execute(
        f"SELECT count(*) FROM incoming i WHERE EXISTS (SELECT 1 FROM stored s WHERE {_key_match(table, 'i', 's')})"
    ).fetchone()[0]
    if replace:
        out.update(inserted=int(n_new), updated=0, removed=int(n_old), rows_after=int(n_new))
    elif table.merge == "replace_periods":
        gone = con.execute(
            "SELECT count(*) FROM stored WHERE period IN (SELECT period FROM incoming)"
        ).fetchone()[0]
        out.update(inserted=int(n_new - matched), updated=int(matched), removed=int(gone - matched),
                   rows_after=int(n_old - gone + n_new))
    else:
        out.update(inserted=int(n_new - matched), updated=int(matched),
                   rows_after=int(n_old + n_new - matched))
    return out


def _scratch_connection() -> duckdb.DuckDBPyConnection:
    # Bounded memory: a province's orders are merged and sorted with spilling to disk.
    con = duckdb.connect(config={"threads": 2, "memory_limit": "1GB",
                                 "preserve_insertion_order": False})
    con.execute(f"SET temp_directory = {sql_literal_path(Path(tempfile.gettempdir()) / 'gridboard-duckdb')}")
    return con


def publish(store: Store, prepared: Prepared, *, user: str, settings: Settings,
            replace: bool = False) -> dict:
    """Merge the prepared rows with the stored table and make the result the current version
    (call under ``store.lock()``)."""
    table = prepared.table
    con = _scratch_connection()
    staging = store.staging_dir(table.name)
    try:
        summary = _changes(con, store, prepared, replace=replace)
        old = store.current_data(table.name)
        if old is None or replace:
            merged = "SELECT * FROM incoming"
        elif table.merge == "replace_periods":
            merged = ("SELECT * FROM incoming UNION ALL SELECT * FROM stored "
                      "WHERE period NOT IN (SELECT DISTINCT period FROM incoming)")
        else:
            merged = (f"SELECT * FROM incoming UNION ALL SELECT * FROM stored s WHERE NOT EXISTS "
                      f"(SELECT 1 FROM incoming i WHERE {_key_match(table, 'i', 's')})")
        data = staging / "data.parquet"
        con.execute(f"COPY (SELECT * FROM ({merged}) ORDER BY {SORT[table.name]}) TO "
                    f"{sql_literal_path(data)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
        crash_point("after_data")
        build_aggregates(con, table.name, f"SELECT * FROM read_parquet({sql_literal_path(data)})",
                         staging, settings)
        crash_point("after_aggregates")
        rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_literal_path(data)})").fetchone()[0]
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        con.close()
    checked = prepared.checked
    meta = {
        "table": table.name,
        "created_at": now_local(),
        "user": user,
        "file_name": prepared.source.safe_name,
        "sha256": prepared.source.sha256(),
        "rows": int(rows),
        "rows_in_file": summary["rows_in_file"],
        "inserted": summary["inserted"],
        "updated": summary["updated"],
        "removed": summary.get("removed", 0),
        "periods": summary["periods"],
        "mode": summary["mode"],
        "warning_count": len(checked.warnings),
        "warnings": [w.as_dict() for w in checked.warnings[:MAX_WARNINGS_KEPT]],
        "dropped_pii": checked.dropped_pii,
        "format": checked.fmt,
        "encoding": checked.encoding,
    }
    meta = store.commit_version(table.name, staging, meta)
    store.audit({"event": "publish", "table": table.name, "version": meta["version"], "user": user,
                 "file_name": meta["file_name"], "sha256": meta["sha256"], "rows": meta["rows"],
                 "inserted": meta["inserted"], "updated": meta["updated"]})
    return meta


def audit_rejection(store: Store, table_name: str, source: Source, user: str,
                    rejected: Rejected) -> None:
    """The one trace a rejected file leaves in the store."""
    store.audit({"event": "rejected", "table": table_name, "user": user,
                 "file_name": source.safe_name, "sha256": source.sha256(),
                 "errors": len(rejected.errors), "message": rejected.message})


def ingest(store: Store, table_name: str, source: Source, *, user: str, settings: Settings,
           replace: bool = False) -> dict:
    """Validate and publish in one step (the CLI's ``ingest``). Raises ``Rejected``."""
    if table_name not in S.TABLES:
        raise KeyError(table_name)
    with store.lock(settings.lock_timeout_seconds), tempfile.TemporaryDirectory(
        prefix="gridboard-ingest-"
    ) as work:
        try:
            prepared = prepare(store, table_name, source, replace=replace, workdir=Path(work))
        except Rejected as r:
            audit_rejection(store, table_name, source, user, r)
            raise
        meta = publish(store, prepared, user=user, settings=settings, replace=replace)
    return result_line(meta)


def result_line(meta: dict) -> dict:
    """The JSON line the CLI prints on success (docs/contract/cli.md), naming the personal-data columns that
    were dropped (docs/contract/data-contract.md: "the report names it")."""
    return {"table": meta["table"], "version": meta["version"], "rows": meta["rows"],
            "inserted": meta["inserted"], "updated": meta["updated"],
            "warnings": meta["warnings"], "dropped_pii": list(meta.get("dropped_pii") or [])}


def ingest_frames(store: Store, frames: dict[str, pd.DataFrame], *, user: str,
                  settings: Settings) -> list[dict]:
    """Publish in-memory frames (the demo city) through the same validation, in dependency
    order, each as a Parquet upload."""
    out = []
    order = list(S.TABLES)  # the contract declares the tables in dependency order
    with tempfile.TemporaryDirectory(prefix="gridboard-sample-") as work:
        for name in order:
            if name not in frames:
                continue
            path = Path(work) / f"{name}.parquet"
            frames[name].to_parquet(path, index=False)
            out.append(ingest(store, name, Source(f"示例数据-{name}.parquet", path=path),
                              user=user, settings=settings, replace=True))
            os.unlink(path)
    return out


__all__ = ["Rejected", "Source", "Prepared", "prepare", "changes", "publish", "ingest",
           "ingest_frames", "RawFrame"]
