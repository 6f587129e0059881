"""A publish killed at any moment leaves the previous (or the new) version current and readable,
and the next writer sweeps the debris.

``GRIDBOARD_CRASH_AT=<point>`` makes the ingest process SIGKILL itself at that step of
metrics/ingest.py / metrics/store.py; a second test kills the process after random delays.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from metrics.settings import Settings
from metrics.store.ingest import Source, ingest
from metrics.store.versions import Store
from tests import bad_files as B

ROOT = Path(__file__).resolve().parent.parent
CRASH_POINTS = ["after_data", "after_aggregates", "before_rename", "after_rename", "after_index"]
OLD_ROWS = len(B.BASELINE_ROWS["issues"])


def _issues_csv(ids: list[str]) -> bytes:
    t = "issues"
    return B.table_csv(t, [{**B.BAD_BASE[t], "issue_id": i} for i in ids])


NEW_IDS = ["GD2001", "GD2002", "GD0001"]  # two new orders and an update of a stored one
NEW_ROWS = OLD_ROWS + 2


@pytest.fixture
def data_dir(tmp_path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(B.baseline_dir(), d)
    return d


@pytest.fixture(autouse=True)
def private_tmpdir(tmp_path, monkeypatch) -> Path:
    """A killed ingest cannot clean its temporary folder: keep those inside the test's tmp_path
    (subprocesses inherit TMPDIR)."""
    d = tmp_path / "tmp"
    d.mkdir()
    monkeypatch.setenv("TMPDIR", str(d))
    return d


@pytest.fixture
def new_file(tmp_path) -> Path:
    p = tmp_path / "工单.csv"
    p.write_bytes(_issues_csv(NEW_IDS))
    return p


def cli(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("GRIDBOARD_DATA_DIR", None)
    return subprocess.run([sys.executable, "-m", "metrics", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120, **kw)


def debris(data_dir: Path) -> list[str]:
    """Folders and temporary files no index names."""
    out = []
    tables = data_dir / "tables"
    for tdir in tables.iterdir():
        idx = json.loads((tdir / "index.json").read_text(encoding="utf-8"))
        named = {v["version"] for v in idx["versions"]}
        for child in tdir.iterdir():
            if child.is_dir() and child.name not in named:
                out.append(f"{tdir.name}/{child.name}")
            elif child.name.endswith(".tmp"):
                out.append(f"{tdir.name}/{child.name}")
    return out


def check_invariants(data_dir: Path, *, allowed: set[str]) -> str:
    """The current version is one of ``allowed``, its data reads, a report runs, and the next
    ingest succeeds and sweeps every piece of debris. Returns the version that was current."""
    store = Store(data_dir)
    current = store.current("issues")["version"]
    assert current in allowed
    df = pd.read_parquet(store.current_data("issues"))
    assert len(df) == (OLD_ROWS if current == "v0001" else NEW_ROWS)
    assert set(df["issue_id"]) >= {"GD0001", "GD0002"}
    for agg in store.current_dir("issues").glob("agg_*.parquet"):
        pd.read_parquet(agg)
    r = cli("report", "issues", "--level", "city", "--period", "2026-04", "--data-dir", str(data_dir))
    assert r.returncode == 0, r.stderr
    payload = json.loads(r.stdout)
    assert [row["unit_name"] for row in payload["rows"]] == ["全市"]
    expected_april = 0 if current == "v0001" else 3  # GD0001 moved to April too
    assert payload["rows"][0]["reported"] == expected_april
    # The next writer publishes and removes the debris.
    line = ingest(store, "issues", Source("next.csv", content=_issues_csv(["GD3001"])), user="t",
                  settings=Settings(lock_timeout_seconds=10))
    assert line["version"] == f"v{int(current[1:]) + 1:04d}"
    assert debris(data_dir) == []
    assert not list(data_dir.rglob(".staging-*"))
    assert set(pd.read_parquet(store.current_data("issues"))["issue_id"]) >= {"GD3001"}
    return current


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_at_each_point_keeps_a_readable_current_version(data_dir, new_file, point):
    r = cli("ingest", "issues", str(new_file), "--data-dir", str(data_dir),
            env={"GRIDBOARD_CRASH_AT": point})
    assert r.returncode == -signal.SIGKILL, (r.returncode, r.stdout, r.stderr)
    tdir = data_dir / "tables" / "issues"
    # The crash really happened where asked: its debris is there (before the sweep).
    staging = [p.name for p in tdir.glob(".staging-*")]
    if point in ("after_data", "after_aggregates", "before_rename"):
        assert len(staging) == 1
        assert (tdir / staging[0] / "data.parquet").is_file()
        if point != "after_data":
            assert list((tdir / staging[0]).glob("agg_*.parquet"))
    else:
        assert staging == []
        assert (tdir / "v0002" / "data.parquet").is_file()
    expected = "v0002" if point == "after_index" else "v0001"
    if point == "after_rename":
        assert debris(data_dir) == ["issues/v0002"]
    assert check_invariants(data_dir, allowed={expected}) == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_after_a_random_delay_keeps_a_readable_current_version(data_dir, new_file, seed):
    """Seeds 1-2 kill a random moment (0-0.9 s) after the publish has begun (its staging folder
    appeared), so the kill lands among the writes; seed 3 kills at a random time from the start."""
    rng = random.Random(seed)
    env = {**os.environ}
    env.pop("GRIDBOARD_DATA_DIR", None)
    env.pop("GRIDBOARD_CRASH_AT", None)
    proc = subprocess.Popen([sys.executable, "-m", "metrics", "ingest", "issues", str(new_file),
                             "--data-dir", str(data_dir)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tdir = data_dir / "tables" / "issues"
    if seed == 3:
        time.sleep(rng.uniform(0.3, 2.0))
    else:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if any(tdir.glob(".staging-*")):
                break
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.9))
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    check_invariants(data_dir, allowed={"v0001", "v0002"})
