"""The data dir: immutable versions, rollback, the writer lock, concurrent ingests, file names."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pandas as pd
import pytest

from metrics.settings import Settings
from metrics.store.ingest import Source, ingest
from metrics.store.versions import NoSuchVersion, Store, StoreBusy
from tests import bad_files as B

SETTINGS = Settings()


def _issues_file(ids: list[str], *, closed: bool = False) -> bytes:
    t = "issues"
    rows = [{**B.BAD_BASE[t], "issue_id": i, **({} if closed else {"closed_at": "", "resolved": ""})}
            for i in ids]
    return B.table_csv(t, rows)


@pytest.fixture(scope="session")
def store_baseline() -> Path:
    return B.baseline_dir()


@pytest.fixture
def store(store_baseline, tmp_path) -> Store:
    d = tmp_path / "data"
    shutil.copytree(store_baseline, d)
    return Store(d)


def publish(store: Store, content: bytes, name: str = "x.csv", user: str = "t", **kw) -> dict:
    return ingest(store, "issues", Source(name, content=content), user=user, settings=SETTINGS, **kw)


def tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
            for p in sorted(root.rglob("*"))}


def issue_ids(store: Store) -> list[str]:
    return sorted(pd.read_parquet(store.current_data("issues"))["issue_id"])


# --- versions ---------------------------------------------------------------------------------


def test_versions_are_listed_with_user_time_file_sha_rows_warnings(store):
    plain = _issues_file(["GD0500", "GD0501"], closed=True)
    warned = B.table_csv("issues", [{**B.BAD_BASE["issues"], "issue_id": "GD0502",
                                     "closed_at": "", "resolved": "是"}])
    before = dt.datetime.now().replace(microsecond=0)
    publish(store, plain, "三月工单.csv", user="王分析")
    publish(store, warned, "四月工单.csv", user="李分析")
    after = dt.datetime.now()
    versions = store.versions("issues")
    assert [v["version"] for v in versions] == ["v0001", "v0002", "v0003"]
    assert [v["current"] for v in versions] == [False, False, True]
    v2, v3 = versions[1], versions[2]
    assert (v2["user"], v2["file_name"], v2["rows"], v2["warning_count"]) == ("王分析", "三月工单.csv", 4, 0)
    assert (v3["user"], v3["file_name"], v3["rows"], v3["warning_count"]) == ("李分析", "四月工单.csv", 5, 1)
    assert v2["sha256"] == hashlib.sha256(plain).hexdigest()
    assert v3["sha256"] == hashlib.sha256(warned).hexdigest()
    assert v3["warnings"][0]["row"] == 2 and "未办结" in v3["warnings"][0]["reason"]
    for v in (v2, v3):
        created = dt.datetime.fromisoformat(v["created_at"])
        assert before <= created <= after
        assert v["table"] == "issues"
    # Every version lists in the all-tables view too.
    assert {(v["table"], v["version"]) for v in store.versions()} >= {("units", "v0001"),
                                                                      ("issues", "v0003")}


def test_sha256_of_a_file_ingested_by_path_equals_hashlib(store, tmp_path):
    p = tmp_path / "big.csv"
    p.write_bytes(_issues_file([f"GD{i:05d}" for i in range(600, 900)]))
    ingest(store, "issues", Source(p.name, path=p), user="t", settings=SETTINGS)
    assert store.current("issues")["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()


def test_published_versions_are_immutable(store):
    v1 = tree(store.version_dir("issues", "v0001"))
    publish(store, _issues_file(["GD0001"], closed=True))  # updates a row of v0001
    publish(store, _issues_file(["GD0600"]), replace=True)
    store.set_current("issues", "v0001", user="t")
    publish(store, _issues_file(["GD0601"]))
    assert tree(store.version_dir("issues", "v0001")) == v1
    assert [v["version"] for v in store.versions("issues")] == ["v0001", "v0002", "v0003", "v0004"]
    assert issue_ids(store) == ["GD0001", "GD0002", "GD0601"]  # built on v0001, the current one


def test_rollback_makes_an_earlier_version_current_and_is_logged(store):
    publish(store, _issues_file(["GD0700", "GD0701"]))
    assert issue_ids(store) == ["GD0001", "GD0002", "GD0700", "GD0701"]
    sig = store.signature(("issues",))
    meta = store.set_current("issues", "v0001", user="管理员")
    assert meta["version"] == "v0001"
    assert store.current("issues")["version"] == "v0001"
    assert issue_ids(store) == ["GD0001", "GD0002"]
    assert store.signature(("issues",)) != sig
    line = store.audit_lines()[-1]
    assert (line["event"], line["table"], line["user"], line["from"], line["to"]) == (
        "rollback", "issues", "管理员", "v0002", "v0001")
    # and forward again
    store.set_current("issues", "v0002", user="管理员")
    assert issue_ids(store) == ["GD0001", "GD0002", "GD0700", "GD0701"]


def test_rollback_to_an_unknown_version_raises_and_changes_nothing(store):
    before = tree(store.root)
    with pytest.raises(NoSuchVersion):
        store.set_current("issues", "v0009", user="t")
    assert tree(store.root) == before


def test_rollback_in_a_table_without_versions_raises(tmp_path):
    with pytest.raises(NoSuchVersion):
        Store(tmp_path / "empty").set_current("pairings", "v0001", user="t")


# --- the lock ---------------------------------------------------------------------------------


HOLD_LOCK = textwrap.dedent("""
    import fcntl, sys, time
    fh = open(sys.argv[1], "a+")
    fcntl.flock(fh, fcntl.LOCK_EX)
    print("locked", flush=True)
    if sys.argv[2] == "stdin":
        sys.stdin.readline()
    else:
        time.sleep(float(sys.argv[2]))
""")


def hold_lock(store: Store, seconds: float | None) -> subprocess.Popen:
    """Another process that holds the store lock for ``seconds`` (None: until a line arrives on
    its stdin); returns once it holds the lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(store.root / ".lock"),
         "stdin" if seconds is None else str(seconds)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_fails_with_store_busy_after_the_timeout(store):
    before = tree(store.root)
    holder = hold_lock(store, 30)
    try:
        t0 = time.monotonic()
        with pytest.raises(StoreBusy) as info:
            ingest(store, "issues", Source("x.csv", content=_issues_file(["GD0800"])), user="t",
                   settings=Settings(lock_timeout_seconds=0.5))
        waited = time.monotonic() - t0
    finally:
        holder.kill()
        holder.wait()
    assert 0.5 <= waited < 10
    assert "稍后再试" in str(info.value)
    assert tree(store.root) == before  # not even an audit line: nothing was read


def test_second_writer_waits_for_the_lock_then_publishes(store):
    holder = hold_lock(store, 1.0)
    try:
        t0 = time.monotonic()
        line = ingest(store, "issues", Source("x.csv", content=_issues_file(["GD0801"])), user="t",
                      settings=Settings(lock_timeout_seconds=30))
        waited = time.monotonic() - t0
    finally:
        holder.wait(timeout=30)
    assert waited >= 0.8
    assert line["version"] == "v0002"


def test_rollback_also_waits_for_the_lock(store):
    publish(store, _issues_file(["GD0802"]))
    holder = hold_lock(store, 30)
    try:
        with pytest.raises(StoreBusy), store.lock(timeout_seconds=0.3):
            store.set_current("issues", "v0001", user="t")
    finally:
        holder.kill()
        holder.wait()
    assert store.current("issues")["version"] == "v0002"


def _concurrent_ingest(root: str, ids: list[str], name: str, queue) -> None:
    queue.put((name, "started"))
    try:
        line = ingest(Store(root), "issues", Source(name, content=_issues_file(ids)), user=name,
                      settings=Settings(lock_timeout_seconds=60))
        queue.put((name, line))
    except BaseException as e:  # reported to the test, never swallowed
        queue.put((name, repr(e)))


def test_two_concurrent_ingests_both_succeed_in_order(store, monkeypatch):
    # A spawned child re-runs the parent's __main__, which after the AppTest tests is app.py (a
    # Streamlit script, not meant to run bare): the children start from an empty __main__.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    files = {"a.csv": ["GD0900", "GD0901"], "b.csv": ["GD0910", "GD0911", "GD0001"]}
    # Hold the lock while both start, so both are waiting for it when it is released.
    holder = hold_lock(store, None)
    procs = [ctx.Process(target=_concurrent_ingest, args=(str(store.root), ids, name, queue))
             for name, ids in files.items()]
    for p in procs:
        p.start()
    assert [queue.get(timeout=120)[1] for _ in procs] == ["started", "started"]
    time.sleep(0.3)  # both are now blocked on the lock (or about to be)
    holder.communicate("release\n", timeout=30)
    results = dict(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(isinstance(r, dict) for r in results.values()), results
    assert sorted(r["version"] for r in results.values()) == ["v0002", "v0003"]
    first, second = sorted(results, key=lambda n: results[n]["version"])
    # The second was merged onto the first: nothing of either is lost.
    assert results[first]["rows"] == 4 and results[second]["rows"] == 6
    assert issue_ids(store) == sorted({"GD0001", "GD0002", *files["a.csv"], *files["b.csv"]})
    idx = store.index("issues")
    assert idx["current"] == "v0003"
    assert [v["version"] for v in idx["versions"]] == ["v0001", "v0002", "v0003"]
    assert [v["file_name"] for v in idx["versions"][1:]] == [first, second]
    for v in idx["versions"]:
        assert (store.version_dir("issues", v["version"]) / "data.parquet").is_file()
        assert json.loads((store.version_dir("issues", v["version"]) / "meta.json").read_text(
            encoding="utf-8"))["version"] == v["version"]
    assert len(pd.read_parquet(store.version_dir("issues", "v0003") / "data.parquet")) == 6
    publishes = [a for a in store.audit_lines() if a["event"] == "publish" and a["table"] == "issues"]
    assert [a["version"] for a in publishes] == ["v0001", "v0002", "v0003"]
    names = {p.name for p in (store.root / "tables" / "issues").iterdir()}
    assert names == {"index.json", "v0001", "v0002", "v0003"}


# --- file names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name,stored", [
    ("../../x.csv", "x.csv"),
    ("..\\..\\y.csv", "y.csv"),
    ("/etc/cron.d/z.csv", "z.csv"),
    ("tables/issues/v0001/data.parquet.csv", "data.parquet.csv"),
])
def test_file_name_with_path_parts_is_stored_as_its_base_name(tmp_path, store_baseline, name, stored):
    outer = tmp_path / "outer"
    data = outer / "inner" / "data"
    shutil.copytree(store_baseline, data)
    store = Store(data)
    outside_before = {p for p in tmp_path.rglob("*") if data not in p.parents and p != data}
    line = ingest(store, "issues", Source(name, content=_issues_file(["GD1000"])), user="t",
                  settings=SETTINGS)
    assert store.current("issues")["file_name"] == stored
    assert store.audit_lines()[-1]["file_name"] == stored
    outside_after = {p for p in tmp_path.rglob("*") if data not in p.parents and p != data}
    assert outside_after == outside_before
    assert not Path("/etc/cron.d/z.csv").exists()
    assert line["version"] == "v0002"
    # The version folder holds only what the store writes.
    assert {p.name for p in store.version_dir("issues", "v0002").iterdir()} <= {
        "data.parquet", "meta.json", "agg.json"} | {p.name for p in store.version_dir(
            "issues", "v0002").glob("agg_*.parquet")}


def test_rejected_file_name_is_also_sanitised_in_the_audit(store):
    from metrics.store.ingest import Rejected

    with pytest.raises(Rejected):
        ingest(store, "issues", Source("../../../bad.csv", content=b"x,y\n1,2\n"), user="t",
               settings=SETTINGS)
    assert store.audit_lines()[-1]["file_name"] == "bad.csv"


# --- housekeeping -----------------------------------------------------------------------------


def test_no_temporary_files_are_left_after_publishing(store):
    publish(store, _issues_file(["GD1100"]))
    store.set_current("issues", "v0001", user="t")
    leftovers = [p for p in store.root.rglob("*") if p.name.endswith(".tmp") or ".staging-" in p.name]
    assert leftovers == []


def test_empty_store_reads_as_empty(tmp_path):
    s = Store(tmp_path / "nothing")
    assert s.is_empty() and s.versions() == [] and s.current("issues") is None
    assert s.current_data("issues") is None
    assert not (tmp_path / "nothing").exists()  # reading creates nothing


# --- readers share one parse of index.json per state ------------------------------------------


def test_readers_see_every_publish_and_rollback_through_the_shared_index(store):
    seen = [store.current("issues")["version"]]
    publish(store, _issues_file(["GD7001"]))
    seen.append(store.current("issues")["version"])
    other = Store(store.root)  # another reader (another session) of the same dir
    assert other.current("issues")["version"] == seen[-1]
    assert other.signature(("issues",)) == (("issues", seen[-1]),)
    store.set_current("issues", seen[0], user="t")
    assert other.current("issues")["version"] == seen[0]
    assert other.fingerprint(("issues",))[1][1] == seen[0]
    assert seen[0] != seen[1]


def test_changing_what_current_returns_does_not_change_the_store(store):
    cur = store.current("issues")
    cur["version"] = "v9999"
    cur["rows"] = -1
    again = store.current("issues")
    assert again["version"] != "v9999" and again.get("rows") != -1
    # and a writer's fresh index is its own copy
    idx = store.index("issues")
    idx["current"] = "v9999"
    assert store.current("issues")["version"] == again["version"]


# --- the demo city: labelled while any of it is left, cleared on purpose ----------------------


@pytest.fixture
def demo_store(tmp_path) -> Store:
    """The baseline published as the demo city (its user, its marker, its map), then 工单
    replaced by an analyst's upload: a city half demo, half real."""
    from metrics.store.versions import DEMO_MARKER, DEMO_USER

    s = Store(tmp_path / "data")
    for table, (name, content) in B.baseline_files().items():
        ingest(s, table, Source(name, content=content), user=DEMO_USER, settings=SETTINGS)
    (s.root / DEMO_MARKER).write_text("{}", encoding="utf-8")
    (s.root / "boundaries.geojson").write_text('{"type": "FeatureCollection", "features": []}',
                                               encoding="utf-8")
    publish(s, _issues_file(["GD8001"]), user="分析员")
    return s


def test_demo_label_stays_while_any_table_is_demo(demo_store):
    from metrics.datadir import is_demo

    assert "issues" not in demo_store.demo_tables()
    assert set(demo_store.demo_tables()) == set(B.BASELINE_ROWS) - {"issues"}
    assert is_demo(demo_store.root)  # one real table does not make the city real


def test_clear_demo_empties_only_demo_tables_keeps_history_and_is_audited(demo_store):
    from metrics.datadir import ensure_demo, is_demo

    real = demo_store.current("issues")["version"]
    demo = {t: demo_store.current(t)["version"] for t in demo_store.demo_tables()}
    cleared = demo_store.clear_demo(user="管理员")
    assert cleared == demo
    assert demo_store.demo_tables() == [] and not is_demo(demo_store.root)
    assert demo_store.current("issues")["version"] == real  # the analyst's upload stays
    for t, v in demo.items():
        assert demo_store.current(t) is None and demo_store.current_data(t) is None
        assert [x["version"] for x in demo_store.versions(t)] == [v]  # history kept
    (line,) = [x for x in demo_store.audit_lines() if x["event"] == "clear_demo"]
    assert line["user"] == "管理员" and line["tables"] == demo
    # the demo map is now the previous one (恢复上一版边界 brings it back); the marker is gone
    assert not (demo_store.root / "boundaries.geojson").exists()
    assert (demo_store.root / "boundaries.prev.geojson").exists()
    assert not (demo_store.root / ".demo").exists()
    assert not (demo_store.root / "clear_demo.json").exists()
    # nothing left to clear; the default data dir does not fill itself with the demo again
    assert demo_store.clear_demo(user="管理员") == {}
    assert not demo_store.is_fresh()
    ensure_demo(demo_store.root, True)
    assert demo_store.demo_tables() == [] and demo_store.current("units") is None


def test_cleared_demo_comes_back_by_rollback(demo_store):
    cleared = demo_store.clear_demo(user="管理员")
    demo_store.set_current("units", cleared["units"], user="管理员")
    assert demo_store.demo_tables() == ["units"]
    # a later upload is numbered after the kept demo version
    line = ingest(demo_store, "pairings", Source(*B.baseline_files()["pairings"]), user="分析员",
                  settings=SETTINGS)
    assert line["version"] == "v0002"


def test_clear_demo_killed_part_way_is_finished_by_the_next_writer(demo_store):
    demo = set(demo_store.demo_tables())
    code = textwrap.dedent(f"""
        from metrics.store.versions import Store
        Store({str(demo_store.root)!r}).clear_demo(user="管理员")
    """)
    env = {**os.environ, "GRIDBOARD_CRASH_AT": "clear_demo_index"}
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(__file__).parents[1],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0  # killed after the first table was switched
    half = set(demo_store.demo_tables())
    assert half and half < demo  # half demo, half cleared, journal on disk
    assert (demo_store.root / "clear_demo.json").exists()
    with demo_store.lock():  # the next writer (any publish, rollback or clear) rolls forward
        pass
    assert demo_store.demo_tables() == []
    assert not (demo_store.root / "clear_demo.json").exists()
    assert [x["event"] for x in demo_store.audit_lines()].count("clear_demo") == 1
