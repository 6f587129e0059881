"""Security: lock-out, scope (URL, Selection, CLI), path parts in upload names, formula injection.

Each test goes through the product's real entry points (AppTest on app.py, the CLI as a
subprocess, the page's own download builders), not only through the library functions.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from metrics.accounts import Account, AccountStore, AuthError
from metrics.selection import ScopeError, Selection
from metrics.settings import Settings, save_settings
from metrics.store.versions import Store
from tests import bad_files as B
from tests import upload_helpers as H

pytestmark = pytest.mark.usefixtures("real_session_runs")
real_session_runs = H.real_session_runs

TIMEOUT = 180
DANGEROUS = ["=1+2", "+1+2", "-1+2", "@SUM(A1)", '=HYPERLINK("http://example.invalid","x")']


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sec") / "data"
    H.make_sample(root, accounts={"ana": ("analyst", None), "boss": ("admin", None)})
    d1, d2 = H.districts(root)[:2]
    H.add_accounts(root, {"dv": ("viewer", d1), "da": ("analyst", d1)})
    return root


@pytest.fixture
def store_dir(sample, tmp_path) -> Path:
    return H.copy_store(sample, tmp_path / "data")


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(H.REPO)}
    env.pop("GRIDBOARD_DATA_DIR", None)
    return subprocess.run([sys.executable, "-m", "metrics", *args], cwd=H.REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def texts(elements) -> list[str]:
    """Element texts as the user reads them (markdown escapes removed)."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in elements]


# --- lock-out ------------------------------------------------------------------------------------


def test_wrong_passwords_lock_out_even_the_right_password(store_dir):
    save_settings(store_dir, Settings(login_max_failures=3, lockout_minutes=10))
    store = AccountStore(store_dir, max_failures=3, lockout_minutes=10)
    for _ in range(3):
        with pytest.raises(AuthError, match="用户名或密码错误|已锁定"):
            store.authenticate("ana", "not the password")
    with pytest.raises(AuthError, match="已锁定"):
        store.authenticate("ana", H.PASSWORD)
    assert store.is_locked("ana")


def test_login_form_locks_out_and_logs_failures(monkeypatch, store_dir):
    save_settings(store_dir, Settings(viewers_must_login=True, login_max_failures=3))
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(store_dir))
    at = AppTest.from_file(H.APP, default_timeout=TIMEOUT)
    at.run()

    def attempt(password: str) -> str:
        at.text_input(key="login_main_name").input("ana")
        at.text_input(key="login_main_password").input(password)
        at.button(key="FormSubmitter:login_main-登录").click().run()
        assert not at.exception, at.exception
        return " ".join(texts(at.error))

    assert "用户名或密码错误" in attempt("wrong-1")
    assert "用户名或密码错误" in attempt("wrong-2")
    assert "已锁定" in attempt("wrong-3")
    assert "已锁定" in attempt(H.PASSWORD)  # the right password does not help now
    assert "account" not in at.session_state or at.session_state["account"] is None
    assert not at.metric
    failures = [e for e in Store(store_dir).audit_lines() if e["event"] == "login_failed"]
    assert len(failures) == 4 and all(e["user"] == "ana" for e in failures)
    assert H.PASSWORD not in (store_dir / "audit.jsonl").read_text(encoding="utf-8")
    # An admin unlock lets the right password in again.
    AccountStore(store_dir).unlock("ana")
    attempt(H.PASSWORD)
    assert at.session_state["account"] == Account("ana", "analyst")


# --- scope ---------------------------------------------------------------------------------------


def test_selection_cannot_leave_its_scope(sample):
    d1, d2 = H.districts(sample)[:2]
    with pytest.raises(ScopeError):
        Selection(level="street", unit=d2, scope=d1).prefix()
    with pytest.raises(ScopeError):
        Selection.make("community", unit=d2 + "001", scope=d1).prefix()
    assert Selection.make("street", scope=d1).prefix() == d1
    assert Selection.make("street", unit=d1, scope=d1).prefix() == d1


@pytest.mark.parametrize("acct_name", ["dv", "da"])
def test_url_unit_outside_the_scope_is_ignored(monkeypatch, sample, acct_name):
    d1, d2 = H.districts(sample)[:2]
    acct = AccountStore(sample).get(acct_name)
    assert acct.scope == d1
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(sample))
    for unit in (d2, d2 + "001", "999999"):
        at = AppTest.from_file(H.APP, default_timeout=TIMEOUT)
        at.session_state["account"] = acct
        at.query_params["unit"] = unit
        at.run()
        assert not at.exception, at.exception
        district = at.selectbox(key="district")
        assert district.options == [f"{H_name(sample, d1)}"] and district.disabled
        assert at.query_params.get("unit") in ([d1], d1)
        cards = {m.label: m.value for m in at.metric}
        rows = H.report_json(sample, "issues", "--level", "district", "--scope", d1)["rows"]
        assert [r["unit_code"] for r in rows] == [d1]
        close_rate = rows[0]["close_rate"]
        assert cards["办结率"] == f"{close_rate * 100:.1f}%", (cards, close_rate)


def H_name(root: Path, code: str) -> str:
    units = pd.read_parquet(Store(root).current_data("units"))
    return units.loc[units["code"] == code, "name"].iloc[0]


def test_cli_report_with_a_users_scope(sample):
    d1, d2 = H.districts(sample)[:2]
    r = cli("report", "issues", "--level", "district", "--user", "dv", "--data-dir", str(sample))
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    assert [row["unit_code"] for row in rows] == [d1]
    r = cli("report", "coverage", "--level", "street", "--user", "dv", "--data-dir", str(sample))
    assert r.returncode == 0, r.stderr
    codes = [row["unit_code"] for row in json.loads(r.stdout)["rows"]]
    assert codes and all(c.startswith(d1) for c in codes)
    r = cli("report", "issues", "--level", "street", "--user", "dv", "--filter", f"unit={d2}",
            "--data-dir", str(sample))
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == "" and d2 not in r.stdout
    r = cli("export", "xlsx", "--out", "/dev/null", "--user", "dv", "--filter", f"unit={d2}",
            "--data-dir", str(sample))
    assert r.returncode == 2, (r.returncode, r.stderr)


def test_cli_user_command_manages_accounts(tmp_path):
    root = tmp_path / "d"
    r = subprocess.run([sys.executable, "-m", "metrics", "user", "add", "wang", "--role",
                        "analyst", "--scope", "990101", "--password-stdin", "--data-dir",
                        str(root)], input="a-long-password\n", capture_output=True, text=True,
                       cwd=H.REPO, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"name": "wang", "role": "analyst", "scope": "990101"}
    assert "a-long-password" not in (root / "accounts.json").read_text(encoding="utf-8")
    r = cli("user", "list", "--data-dir", str(root))
    assert r.returncode == 0 and "wang" in r.stdout and "analyst" in r.stdout, r
    store = AccountStore(root)
    for _ in range(5):
        with pytest.raises(AuthError):
            store.authenticate("wang", "wrong")
    assert store.is_locked("wang")
    assert cli("user", "unlock", "wang", "--data-dir", str(root)).returncode == 0
    assert not AccountStore(root).is_locked("wang")
    assert cli("user", "remove", "wang", "--data-dir", str(root)).returncode == 0
    assert AccountStore(root).get("wang") is None
    assert cli("user", "remove", "wang", "--data-dir", str(root)).returncode == 2


# --- upload names with path parts ----------------------------------------------------------------


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("name", ["../../x.csv", "..\\..\\x.csv", "/etc/x.csv",
                                  "sub/../../x.csv"])
def test_upload_name_with_path_parts_stays_inside_the_data_dir(monkeypatch, tmp_path, name):
    sandbox = tmp_path / "sandbox"
    root = sandbox / "a" / "b" / "data"
    root.mkdir(parents=True)
    B.build_baseline(Store(root), Settings())
    outside_before = _tree(sandbox) - {p for p in _tree(sandbox) if p.startswith("a/b/data")}
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(root))
    at = AppTest.from_file(H.APP, default_timeout=TIMEOUT)
    at.session_state["account"] = Account("ana", "analyst")
    at.run()
    at.switch_page("pages/upload.py").run()
    at.selectbox(key="up_table").set_value("pairings")
    at.file_uploader[0].set_value((name, B.table_csv("pairings", B.GOOD_ROWS["pairings"]),
                                   "text/csv"))
    at.run()
    at.button(key="up_publish").click().run()
    at.button(key="up_confirm_go").click().run()
    assert not at.exception, at.exception
    meta = Store(root).current("pairings")
    assert meta["version"] == "v0002" and meta["file_name"] == "x.csv"
    outside_after = _tree(sandbox) - {p for p in _tree(sandbox) if p.startswith("a/b/data")}
    assert outside_after == outside_before
    assert not Path("/etc/x.csv").exists() or name != "/etc/x.csv"
    for p in root.rglob("*"):
        assert "x.csv" not in p.name
    # A rejected file with such a name writes nothing either (audit line only).
    bad = B.table_csv("pairings", [{**B.BAD_BASE["pairings"], "partner_level": "国家级"}])
    at.file_uploader[0].set_value((name, bad, "text/csv"))
    at.run()
    assert any("未发布" in e for e in texts(at.error))
    assert _tree(sandbox) - {p for p in _tree(sandbox) if p.startswith("a/b/data")} == outside_before
    assert Store(root).audit_lines()[-1]["file_name"] == "x.csv"


# --- formula injection ---------------------------------------------------------------------------


def _no_formula(content: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/") and n.endswith(".xml"):
                data = z.read(n)
                assert b"<f>" not in data and b"<f " not in data, n


def _cells(content: bytes) -> list:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def test_error_report_writes_dangerous_cells_as_text(baseline_dir):
    from metrics.store import upload as U

    rows = [{**B.BAD_BASE["pairings"], "pairing_id": f"JD9{i}", "partner_name": v,
             "partner_level": "国家级"} for i, v in enumerate(DANGEROUS)]
    content = B.table_csv("pairings", rows)
    res = U.check_upload(Store(baseline_dir), "pairings", "=cmd.csv", content, replace=False)
    assert res.status == "rejected" and len(res.errors) == len(DANGEROUS)
    report = U.error_report(res.errors, content, res.file_name, res.table)
    _no_formula(report)
    values = {c.value for c in _cells(report) if c.data_type == "s"}
    assert set(DANGEROUS) <= values
    # The XLSX variant of the same file, read by the product and reported back.
    xlsx = B.xlsx_bytes(B.header_list("pairings"), [B.row_list("pairings", r) for r in rows])
    res = U.check_upload(Store(baseline_dir), "pairings", "p.xlsx", xlsx, replace=False)
    _no_formula(U.error_report(res.errors, xlsx, res.file_name, res.table))


@pytest.fixture
def baseline_dir(tmp_path) -> Path:
    root = tmp_path / "baseline"
    root.mkdir()
    B.build_baseline(Store(root), Settings())
    return root


def test_published_dangerous_names_export_as_text(monkeypatch, baseline_dir):
    """A unit named "=1+2…" goes in through the upload page and comes out of the 通报 workbook,
    the CSV report and the audit-log download as text."""
    units = [dict(r) for r in B.BASELINE_ROWS["units"]]
    for r, v in zip(units[1:], DANGEROUS, strict=False):
        r["name"] = v
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(baseline_dir))
    at = AppTest.from_file(H.APP, default_timeout=TIMEOUT)
    at.session_state["account"] = Account("boss", "admin")
    at.run()
    at.switch_page("pages/upload.py").run()
    at.selectbox(key="up_table").set_value("units")
    at.file_uploader[0].set_value(("=HYPERLINK(x).csv", B.table_csv("units", units), "text/csv"))
    at.run()
    at.button(key="up_publish").click().run()
    at.button(key="up_confirm_go").click().run()
    assert not at.exception, at.exception
    assert Store(baseline_dir).current("units")["version"] == "v0002"

    out = baseline_dir.parent / "tb.xlsx"
    r = cli("export", "xlsx", "--out", str(out), "--level", "community", "--period", "2026-04",
            "--data-dir", str(baseline_dir))
    assert r.returncode == 0, r.stderr
    content = out.read_bytes()
    _no_formula(content)
    strings = {c.value for c in _cells(content) if isinstance(c.value, str)}
    assert any(v in s for s in strings for v in DANGEROUS[1:4]), strings

    r = cli("report", "issues", "--level", "community", "--period", "2026-04", "--format", "csv",
            "--data-dir", str(baseline_dir))
    assert r.returncode == 0, r.stderr
    names = [row["unit_name"] for row in csv.DictReader(io.StringIO(r.stdout.lstrip("\ufeff")))]
    assert names and all(not n or n[0] not in "=+-@" for n in names), names

    from ui.admin import _audit_csv

    audit = _audit_csv(Store(baseline_dir).audit_lines()).decode("utf-8-sig")
    for row in csv.reader(io.StringIO(audit)):
        for cell in row:
            assert not cell or cell[0] not in "=+-@", cell
    assert "=HYPERLINK(x).csv" in audit  # the name is there, only never as a formula
