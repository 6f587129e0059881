"""Shared by the upload page tests (AppTest, browser, security): stores, accounts, files."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from metrics.accounts import AccountStore
from metrics.contract import schema as S
from metrics.datadir import write_sample
from metrics.store.versions import Store

PASSWORD = "correct horse 7"
REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")


def make_sample(root: Path, *, accounts: dict[str, tuple[str, str | None]] | None = None) -> Path:
    """The demo city at scale 0.05 in ``root`` with local accounts {name: (role, scope)}."""
    write_sample(Store(root), seed=2026, scale=0.05)
    add_accounts(root, accounts or {})
    return root


def add_accounts(root: Path, accounts: dict[str, tuple[str, str | None]]) -> None:
    store = AccountStore(root)
    for name, (role, scope) in accounts.items():
        store.add_or_update(name, role, PASSWORD, scope=scope)


def copy_store(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def snapshot(root: Path) -> dict[str, str]:
    """Everything a publish or rollback would change: every table's index and version folders
    (the audit log may gain a line, nothing else)."""
    out = {}
    tables = Path(root) / "tables"
    for p in sorted(tables.rglob("*")):
        rel = str(p.relative_to(root))
        if p.name == "index.json":
            out[rel] = p.read_text(encoding="utf-8")
        elif p.is_dir():
            out[rel] = "dir"
    for name in ("settings.json", "accounts.json", "boundaries.geojson"):
        p = Path(root) / name
        out[name] = p.read_text(encoding="utf-8") if p.exists() else ""
    return out


def districts(root: Path) -> list[str]:
    units = pd.read_parquet(Store(root).current_data("units"))
    return sorted(units.loc[units["level"] == "district", "code"])


def latest_open_issues(root: Path, n: int = 200) -> pd.DataFrame:
    """Open orders of the latest reported month, closed (and rated) an hour after report: a
    later extract that moves 办结率 and its neighbours on 总览."""
    df = pd.read_parquet(Store(root).current_data("issues"))
    month = df["reported_at"].dt.to_period("M")
    latest = df[(month == month.max()) & df["closed_at"].isna()].sort_values("issue_id").head(n)
    assert len(latest) > 10, "the sample has no open orders in its latest month"
    out = latest.copy()
    out["responded_at"] = out["responded_at"].fillna(out["reported_at"] + pd.Timedelta(minutes=30))
    out["closed_at"] = out["reported_at"] + pd.Timedelta(hours=1)
    out["resolved"] = True
    out["satisfaction"] = "满意"
    return out.reset_index(drop=True)


def _cells(frame: pd.DataFrame, table: str) -> tuple[list[str], list[list]]:
    t = S.TABLES[table]
    header = [c.label for c in t.columns]
    rows = []
    for rec in frame.itertuples(index=False):
        row = []
        for c in t.columns:
            v = getattr(rec, c.name)
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                row.append(None)
            elif c.kind == S.DATETIME:
                row.append(pd.Timestamp(v).strftime("%Y-%m-%d %H:%M:%S"))
            elif c.kind in (S.DATE,):
                row.append(pd.Timestamp(v).strftime("%Y-%m-%d"))
            elif c.kind == S.MONTH:
                row.append(pd.Timestamp(v).strftime("%Y-%m"))
            elif c.kind == S.BOOL:
                row.append("是" if v else "否")
            else:
                row.append(str(v))
        rows.append(row)
    return header, rows


def chinese_csv(frame: pd.DataFrame, table: str) -> bytes:
    """The frame as a UTF-8 (BOM) CSV with Chinese headers, as Excel saves it."""
    header, rows = _cells(frame, table)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def chinese_xlsx(frame: pd.DataFrame, table: str) -> bytes:
    """The frame as an XLSX with a title row and Chinese headers (codes as text cells)."""
    header, rows = _cells(frame, table)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "本月导出"
    ws.append([f"{S.TABLES[table].label}(导出)"])
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def report_json(root: Path, *args: str) -> dict:
    """``python -m metrics report ... --format json`` in-process (same code as the CLI)."""
    import contextlib

    from metrics.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["report", *args, "--format", "json", "--data-dir", str(root)])
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


# --- AppTest as a real session runs ----------------------------------------------------------


@pytest.fixture
def real_session_runs(monkeypatch):
    """Every AppTest run goes through app.py, as a real server's runs do.

    AppTest builds a fresh PagesManager for every run, so with a pages/ folder each run after
    the first starts in Streamlit's legacy folder routing and executes the page file directly;
    ui.state.current() would then reuse the previous run's frame (stale data version, no
    sidebar). Dropping the frame first makes current() take its documented path: run app.py,
    which builds the frame and the sidebar and runs the page (tests/test_pages.py does the
    same). Streamlit's caches are process-wide and keyed by version ids only, so they are
    emptied around each test too.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    original = AppTest.run

    def run(self, *, timeout=None):
        if "_frame" in self.session_state:
            del self.session_state["_frame"]
        return original(self, timeout=timeout)

    monkeypatch.setattr(AppTest, "run", run)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
