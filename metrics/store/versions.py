"""The data dir: each table as immutable Parquet versions, a current pointer, an audit log.

Layout::

    DATA_DIR/
      .lock                      one writer at a time (flock)
      audit.jsonl                append-only log of every ingest, rejection and rollback
      tables/<table>/index.json  {"current": "v0003", "versions": [meta, …]}
      tables/<table>/v0003/      data.parquet, agg_*.parquet (aggregates for pages)

A publish writes the new version into a hidden folder, renames it into place, then replaces
``index.json`` (write beside, fsync, rename). A reader only follows ``index.json``, so a crash
or kill at any moment leaves the previous current version intact and readable; a folder no
index names is debris of such a crash and is removed by the next writer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from metrics.contract import schema as S

DEMO_USER = "示例数据"  # the demo city's versions are published as this user
DEMO_MARKER = ".demo"  # written beside the tables by ``metrics sample`` (seed and scale)
DEMO_BOUNDARIES = "boundaries.geojson"  # the demo city draws its own map (metrics.cli)
_CLEAR_DEMO_JOURNAL = "clear_demo.json"


class StoreBusy(Exception):
    """Another writer holds the store lock (message in Chinese)."""


class NoSuchVersion(Exception):
    pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def crash_point(name: str) -> None:
    """Kill this process here when a test asks for it (GRIDBOARD_CRASH_AT=name).

    Lets the crash test stop a publish at each step deterministically instead of hoping a
    timed SIGKILL lands in the right millisecond.
    """
    if os.environ.get("GRIDBOARD_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def now_local() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat()


# Every page run asks each table's current version several times; parsing index.json each
# time was a tenth of a cached page's server time. Readers share one parse per file state:
# index.json is only ever replaced by a rename, so a new state always has a new inode.
_INDEX_MEMO: dict[str, tuple[tuple[int, int, int], dict]] = {}
_INDEX_MEMO_LOCK = threading.Lock()
_INDEX_MEMO_MAX = 512


def _read_index_shared(path: Path) -> dict | None:
    """The parsed index at ``path`` (None if there is none), shared between readers: callers
    must not modify it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    state = (st.st_ino, st.st_mtime_ns, st.st_size)
    key = str(path)
    hit = _INDEX_MEMO.get(key)
    if hit is not None and hit[0] == state:
        return hit[1]
    try:
        parsed = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    with _INDEX_MEMO_LOCK:
        if len(_INDEX_MEMO) >= _INDEX_MEMO_MAX:
            _INDEX_MEMO.clear()
        _INDEX_MEMO[key] = (state, parsed)
    return parsed


class Store:
    def __init__(self, data_dir: str | os.PathLike):
        self.root = Path(data_dir)
        self._resolved: str | None = None

    # --- reading -------------------------------------------------------------------------

    def table_dir(self, table: str) -> Path:
        if table not in S.TABLES:
            raise KeyError(table)
        return self.root / "tables" / table

    def index(self, table: str) -> dict:
        """The table's index, freshly read: the caller may modify it (writers do)."""
        path = self.table_dir(table) / "index.json"
        if not path.exists():
            return {"current": None, "versions": []}
        return json.loads(path.read_text(encoding="utf-8"))

    def _index_shared(self, table: str) -> dict:
        return (_read_index_shared(self.table_dir(table) / "index.json")
                or {"current": None, "versions": []})

    def current(self, table: str) -> dict | None:
        idx = self._index_shared(table)
        for v in idx["versions"]:
            if v["version"] == idx["current"]:
                return dict(v)
        return None

    def version_dir(self, table: str, version: str) -> Path:
        return self.table_dir(table) / version

    def current_dir(self, table: str) -> Path | None:
        cur = self.current(table)
        return self.version_dir(table, cur["version"]) if cur else None

    def current_data(self, table: str) -> Path | None:
        d = self.current_dir(table)
        return d / "data.parquet" if d else None

    def signature(self, tables: tuple[str, ...] | None = None) -> tuple[tuple[str, str | None], ...]:
        """(table, current version) pairs: a cache key that changes exactly when data changes."""
        names = tables or tuple(S.TABLES)
        return tuple((t, self._index_shared(t)["current"]) for t in names)

    def fingerprint(self, tables: tuple[str, ...] | None = None) -> tuple:
        """A cache key for the current data that also tells apart two data dirs, or one data
        dir wiped and filled again, whose version ids happen to be equal."""
        names = tables or tuple(S.TABLES)
        if self._resolved is None:
            self._resolved = str(self.root.resolve())
        out: list = [self._resolved]
        for t in names:
            cur = self.current(t)
            out.append((t, cur["version"], cur.get("created_at"), cur.get("sha256")) if cur
                       else (t, None))
        return tuple(out)

    def is_empty(self) -> bool:
        return all(self._index_shared(t)["current"] is None for t in S.TABLES)

    def is_fresh(self) -> bool:
        """No table has ever had a version (an emptied store, e.g. after ``clear_demo``, has)."""
        return all(not self._index_shared(t)["versions"] for t in S.TABLES)

    def demo_tables(self) -> list[str]:
        """Tables whose current version is still the demo city's."""
        return [t for t in S.TABLES
                if (cur := self.current(t)) is not None and cur.get("user") == DEMO_USER]

    def versions(self, table: str | None = None) -> list[dict]:
        out = []
        for t in [table] if table else list(S.TABLES):
            idx = self.index(t)
            for v in idx["versions"]:
                out.append({**v, "table": t, "current": v["version"] == idx["current"]})
        return out

    def audit_lines(self) -> list[dict]:
        path = self.root / "audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]

    # --- writing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout_seconds: float = 60.0) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        fh = open(self.root / ".lock", "a+")
        deadline = time.monotonic() + timeout_seconds
        try:
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreBusy(
                            f"另一个上传正在写入数据(已等待 {timeout_seconds:g} 秒)，请稍后再试"
                        ) from None
                    time.sleep(0.1)
            self._sweep()
            self._finish_clear_demo()
            yield
        finally:
            fh.close()

    def _sweep(self) -> None:
        """Remove debris of crashed publishes (folders no index names)."""
        tables = self.root / "tables"
        if not tables.exists():
            return
        for tdir in tables.iterdir():
            if not tdir.is_dir() or tdir.name not in S.TABLES:
                continue
            named = {v["version"] for v in self.index(tdir.name)["versions"]}
            for child in tdir.iterdir():
                if child.is_dir() and child.name not in named:
                    shutil.rmtree(child, ignore_errors=True)
                elif child.name.endswith(".tmp"):
                    child.unlink(missing_ok=True)

    def audit(self, event: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"time": now_local(), **event}, ensure_ascii=False) + "\n"
        fd = os.open(self.root / "audit.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def staging_dir(self, table: str) -> Path:
        """A hidden folder to write a new version into (call under the lock)."""
        d = self.table_dir(table) / f".staging-{uuid.uuid4().hex}"
        d.mkdir(parents=True)
        return d

    def next_version_id(self, table: str) -> str:
        idx = self.index(table)
        n = max((int(v["version"][1:]) for v in idx["versions"]), default=0)
        return f"v{n + 1:04d}"

    def commit_version(self, table: str, staging: Path, meta: dict) -> dict:
        """Move a fully written staging folder into place and make it current (under the lock)."""
        for f in staging.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        version = self.next_version_id(table)
        meta = {**meta, "version": version}
        (staging / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1),
                                           encoding="utf-8")
        crash_point("before_rename")
        final = self.version_dir(table, version)
        os.rename(staging, final)
        _fsync_dir(final.parent)
        crash_point("after_rename")
        idx = self.index(table)
        idx["versions"].append(meta)
        idx["current"] = version
        write_atomic(self.table_dir(table) / "index.json",
                     json.dumps(idx, ensure_ascii=False, indent=1))
        crash_point("after_index")
        return meta

    def clear_demo(self, *, user: str, lock_timeout_seconds: float = 60.0) -> dict[str, str]:
        """Take the demo city out of service: every table whose current version is the demo
        city's (``demo_tables``) is left with no current version, as if never uploaded; tables
        an analyst has published to are not touched. Returns {table: demo version cleared}
        (empty: there was nothing to clear).

        Semantics:

        * Nothing is deleted. The demo versions stay in each table's history, so a rollback
          (``set_current``, or 回滚 on 版本历史) brings any of them back, and the next upload
          is numbered after them. A store emptied this way is not "fresh" (``is_fresh``), so the
          default data dir does not fill itself with the demo city again.
        * The demo map (``boundaries.geojson`` while no boundaries were ever uploaded) becomes
          the previous boundaries file, which 恢复上一版边界 restores; the demo marker goes.
        * Atomic for writers: under the store lock, a journal naming every table and version is
          written first, then the audit line ("clear_demo"), then each index. A crash part-way
          leaves the journal; the next holder of the lock finishes the job (roll forward), so
          the store never stays half demo, half cleared. Readers follow each table's
          ``index.json``, which is replaced atomically.
        """
        with self.lock(lock_timeout_seconds):
            tables = {t: self.current(t)["version"] for t in self.demo_tables()}
            if not tables:
                return {}
            journal = {"tables": tables, "user": user,
                       "boundaries": self._demo_boundaries_in_use()}
            write_atomic(self.root / _CLEAR_DEMO_JOURNAL,
                         json.dumps(journal, ensure_ascii=False))
            crash_point("clear_demo_journal")
            self.audit({"event": "clear_demo", "user": user, "tables": tables})
            self._finish_clear_demo()
        return tables

    def _demo_boundaries_in_use(self) -> bool:
        """The map file is the demo city's: the demo marker is there and no one ever uploaded
        boundaries (an upload is audited)."""
        if not (self.root / DEMO_MARKER).exists() or not (self.root / DEMO_BOUNDARIES).exists():
            return False
        return not any(e.get("event") in ("boundaries", "boundaries_restore")
                       for e in self.audit_lines())

    def _finish_clear_demo(self) -> None:
        """Carry out a ``clear_demo`` journal (under the lock): idempotent, so a crash at any
        point is completed by the next writer."""
        path = self.root / _CLEAR_DEMO_JOURNAL
        if not path.exists():
            return
        journal = json.loads(path.read_text(encoding="utf-8"))
        for table, version in journal["tables"].items():
            idx = self.index(table)
            if idx["current"] == version:  # not yet switched (or switched back: leave it)
                idx["current"] = None
                write_atomic(self.table_dir(table) / "index.json",
                             json.dumps(idx, ensure_ascii=False, indent=1))
                crash_point("clear_demo_index")
        if journal.get("boundaries") and (self.root / DEMO_BOUNDARIES).exists():
            os.replace(self.root / DEMO_BOUNDARIES,
                       self.root / DEMO_BOUNDARIES.replace(".geojson", ".prev.geojson"))
            _fsync_dir(self.root)
        (self.root / DEMO_MARKER).unlink(missing_ok=True)
        path.unlink()
        _fsync_dir(self.root)

    def set_current(self, table: str, version: str, *, user: str) -> dict:
        """Make an existing version current again (rollback); logged."""
        idx = self.index(table)
        known = {v["version"]: v for v in idx["versions"]}
        if version not in known:
            raise NoSuchVersion(f"{table} 没有版本 {version}")
        previous = idx["current"]
        idx["current"] = version
        write_atomic(self.table_dir(table) / "index.json",
                     json.dumps(idx, ensure_ascii=False, indent=1))
        self.audit({"event": "rollback", "table": table, "user": user, "from": previous,
                    "to": version})
        return known[version]
