"""数据上传 through Streamlit's AppTest: the real app.py, a real data dir, no browser.

Covers: a good file is checked, shown (encoding, header mapping, preview), published after
confirmation and moves 总览; every bad file of tests/bad_files.py shows its error table and
changes nothing; warnings must be acknowledged; rollback restores the numbers; the page is
closed to viewers; size limit, scope rules, lock contention; the tools of the 管理 pages
(accounts, settings, boundaries, the log, 清除示例数据).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from metrics.accounts import Account, AccountStore, AuthError
from metrics.settings import Settings, load_settings, save_settings
from metrics.store.versions import Store
from tests import bad_files as B
from tests import upload_helpers as H

pytestmark = pytest.mark.usefixtures("real_session_runs")
real_session_runs = H.real_session_runs

TIMEOUT = 180


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sample") / "data"
    return H.make_sample(root, accounts={"ana": ("analyst", None), "boss": ("admin", None),
                                         "kan": ("viewer", None)})


@pytest.fixture
def store_dir(sample, tmp_path) -> Path:
    """A private copy of the sample city (tests publish into it)."""
    return H.copy_store(sample, tmp_path / "data")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("baseline") / "data"
    root.mkdir(parents=True)
    B.build_baseline(Store(root), Settings())
    H.add_accounts(root, {"ana": ("analyst", None)})
    return root


def open_app(monkeypatch, data_dir: Path, account: Account | None) -> AppTest:
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(data_dir))
    at = AppTest.from_file(H.APP, default_timeout=TIMEOUT)
    if account is not None:
        at.session_state["account"] = account
    at.run()
    assert not at.exception, at.exception
    return at


def to_upload(at: AppTest) -> AppTest:
    at.switch_page("pages/upload.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["数据上传"]
    return at


def to_admin(at: AppTest, page: str, title: str) -> AppTest:
    """One of the 管理 pages (pages/admin_*.py)."""
    at.switch_page(f"pages/admin_{page}.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == [title]
    return at


def open_login_box(at: AppTest) -> AppTest:
    """Open the sidebar's 登录 box, as a click on it does: its form is drawn only while open."""
    assert not [t for t in at.text_input if t.key == "login_side_name"]
    at.session_state["side_login"] = True
    at.run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, table: str, name: str, content: bytes, *, replace: bool = False) -> AppTest:
    at.selectbox(key="up_table").set_value(table)
    at.checkbox(key="up_replace").set_value(replace)
    at.file_uploader[0].set_value((name, content, "application/octet-stream"))
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> list[str]:
    """Element texts as the user reads them (markdown escapes removed)."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in elements]


def frame_with(at: AppTest, columns: list[str]) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe if list(d.value.columns) == columns]


def problem_tables(at: AppTest) -> list[pd.DataFrame]:
    return frame_with(at, ["行号", "列", "值", "原因"])


def headline(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def publish(at: AppTest) -> AppTest:
    at.button(key="up_publish").click().run()
    assert not at.exception, at.exception
    assert "确认发布" in [b.label for b in at.button], "the confirmation dialog did not open"
    at.button(key="up_confirm_go").click().run()
    assert not at.exception, at.exception
    return at


ANA = Account("ana", "analyst")


# --- the good path -------------------------------------------------------------------------------


def overview_numbers(at: AppTest) -> dict[str, str]:
    """总览's headline cards, in the same session (no restart)."""
    at.switch_page("pages/overview.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["总览"]
    return headline(at)


def test_good_file_publish_moves_overview_and_rollback_restores(monkeypatch, store_dir):
    at = open_app(monkeypatch, store_dir, ANA)
    before = headline(at)
    assert before["办结率"]

    fixed = H.latest_open_issues(store_dir)
    content = H.chinese_csv(fixed, "issues")
    to_upload(at)
    upload(at, "issues", "工单_本月更新.csv", content)

    page = " ".join(texts(at.markdown))
    assert "编码：UTF-8 (BOM)" in page and "格式：CSV" in page, page
    assert f"数据行：{len(fixed)}" in page
    mapping = frame_with(at, ["字段", "字段名", "文件中的列", "状态"])[0]
    assert set(mapping["状态"]) == {"已识别"}
    preview = [d.value for d in at.dataframe if "工单编号" in d.value.columns][0]
    assert preview["工单编号"].iloc[0] == fixed["issue_id"].iloc[0]
    assert preview["是否解决"].iloc[0] == "是"  # as stored, not as typed
    assert any("校验通过" in s for s in texts(at.success))
    assert not problem_tables(at)
    assert f"更新 **{len(fixed)}** 行" in page and "新增 **0** 行" in page

    snap = H.snapshot(store_dir)
    publish(at)
    assert H.snapshot(store_dir) != snap
    flash = " ".join(texts(at.success))
    assert "v0002" in flash and "已发布" in flash, flash
    meta = Store(store_dir).current("issues")
    assert meta["version"] == "v0002" and meta["user"] == "ana"
    assert meta["file_name"] == "工单_本月更新.csv" and meta["updated"] == len(fixed)
    assert len(at.file_uploader) == 1 and at.file_uploader[0].value is None  # emptied

    after = overview_numbers(at)
    assert after["办结率"] != before["办结率"], (before, after)
    assert float(after["办结率"].rstrip("%")) > float(before["办结率"].rstrip("%"))

    # Rollback: 版本历史 → pick v0001 → 回滚 → 确认.
    to_upload(at)
    at.button_group(key="up_section").set_value("版本历史").run()
    at.selectbox(key="up_v_table").set_value("issues").run()
    at.selectbox(key="up_v_pick_issues").set_value("v0001").run()
    assert not at.exception, at.exception
    page = " ".join(texts(at.markdown))
    assert "这是该表的第一个版本" in page
    at.button(key="up_rb_versions_issues_v0001").click().run()
    assert Store(store_dir).current("issues")["version"] == "v0002"  # one click does nothing
    assert any("确认将" in w for w in texts(at.warning))
    at.button(key="up_rb_ok_versions").click().run()
    assert not at.exception, at.exception
    assert Store(store_dir).current("issues")["version"] == "v0001"
    assert any("回滚到 v0001" in s for s in texts(at.success))
    audit = Store(store_dir).audit_lines()
    assert audit[-1]["event"] == "rollback" and audit[-1]["user"] == "ana"
    assert audit[-1]["from"] == "v0002" and audit[-1]["to"] == "v0001"

    assert overview_numbers(at) == before


def test_version_diff_summary_and_undo_from_flash(monkeypatch, store_dir):
    at = to_upload(open_app(monkeypatch, store_dir, ANA))
    fixed = H.latest_open_issues(store_dir, n=20)
    upload(at, "issues", "issues.csv", H.chinese_csv(fixed, "issues"))
    publish(at)
    at.button_group(key="up_section").set_value("版本历史").run()
    at.selectbox(key="up_v_table").set_value("issues").run()
    versions = frame_with(at, ["版本", "当前", "时间", "上传人", "文件", "行数", "新增", "更新",
                               "删除", "警告", "方式", "涉及月份"])[0]
    assert versions["版本"].tolist() == ["v0002", "v0001"]
    assert versions["当前"].tolist() == ["✔", ""]
    page = " ".join(texts(at.markdown))
    assert "与上一版本 v0001 相比" in page
    assert "新增 **0** 行、删除 **0** 行、内容变化 **20** 行" in page, page

    # The flash after a publish offers an undo (two clicks as well).
    at.button_group(key="up_section").set_value("上传数据").run()
    at.button(key="up_rb_undo_issues_v0001").click().run()
    at.button(key="up_rb_ok_undo").click().run()
    assert Store(store_dir).current("issues")["version"] == "v0001"


# --- bad files -----------------------------------------------------------------------------------


def _bad_groups():
    files = B.bad_files()
    size = 40
    return [files[i:i + size] for i in range(0, len(files), size)]


@pytest.mark.parametrize("group", range(len(_bad_groups())))
def test_every_bad_file_shows_its_error_and_changes_nothing(monkeypatch, baseline, group):
    at = to_upload(open_app(monkeypatch, baseline, ANA))
    snap = H.snapshot(baseline)
    failures = []
    for bf in _bad_groups()[group]:
        upload(at, bf.table, bf.file_name, bf.content)
        try:
            if bf.expected_row is None:
                errors = " ".join(texts(at.error))
                assert "无法读取此文件" in errors and bf.expected_reason in errors, errors
            else:
                tables = problem_tables(at)
                assert tables, f"no error table; errors: {texts(at.error)}"
                errs = tables[0]
                hit = errs[(errs["行号"] == bf.expected_row)
                           & errs["列"].str.contains(bf.expected_column, regex=False)
                           & errs["原因"].str.contains(bf.expected_reason, regex=False)]
                assert len(hit), errs.to_string()
                counts = frame_with(at, ["原因", "处数"])[0]
                assert counts["处数"].sum() == len(errs)
                labels = [b.label for b in at.get("download_button")]
                assert any("下载错误报告" in x for x in labels), labels
                assert any("未发布" in e for e in texts(at.error))
            assert "up_publish" not in [b.key for b in at.button]
            assert H.snapshot(baseline) == snap
        except AssertionError as e:
            failures.append(f"{bf.name}: {e}")
    assert not failures, "\n".join(failures)


def test_multi_row_files_list_every_bad_row(monkeypatch, baseline):
    at = to_upload(open_app(monkeypatch, baseline, ANA))
    for bf in B.multi_row_bad_files():
        upload(at, bf.table, bf.file_name, bf.content)
        errs = problem_tables(at)[0]
        assert set(bf.expected_row) <= set(errs["行号"].dropna().astype(int)), (bf.name, errs)


def test_error_report_download_highlights_bad_rows(baseline):
    from metrics.store import upload as U

    bf = next(b for b in B.bad_files() if b.name == "organizations_employees_text")
    res = U.check_upload(Store(baseline), bf.table, bf.file_name, bf.content, replace=False)
    assert res.status == "rejected"
    wb = openpyxl.load_workbook(io.BytesIO(U.error_report(res.errors, bf.content, bf.file_name,
                                                          bf.table)))
    assert wb.sheetnames[:2] == ["错误明细", "按原因汇总"]
    raw = wb[wb.sheetnames[2]]
    header = [c.value for c in raw[1]]
    col = header.index(bf.expected_column) + 1
    row = next(r for r in range(2, raw.max_row + 1) if raw.cell(r, 1).value == bf.expected_row)
    cell = raw.cell(row, col)
    assert cell.value == "很多" and cell.fill.fgColor.rgb not in (None, "00000000")
    assert cell.comment is not None and bf.expected_reason in cell.comment.text
    assert U.report_name("../../台账.csv") == "台账_错误报告.xlsx"


def test_personal_data_columns_are_named_and_never_stored(monkeypatch, baseline, tmp_path):
    root = H.copy_store(baseline, tmp_path / "data")
    at = to_upload(open_app(monkeypatch, root, ANA))
    name, content, pii = B.pii_file("issues")
    upload(at, "issues", name, content)
    warning = " ".join(texts(at.warning))
    for h in pii:
        assert h in warning, warning
    preview = [d.value for d in at.dataframe if "工单编号" in d.value.columns][0]
    assert not set(pii) & set(preview.columns)
    publish(at)
    data = Store(root).current_data("issues").read_bytes()
    assert B.PII_PHONE.encode() not in data and B.PII_NAME.encode("utf-8") not in data


def test_a_file_with_a_repeated_header_is_refused_cleanly(monkeypatch, baseline):
    """A header repeated verbatim (once a crash deeper down) gives a Chinese message, not a
    traceback, and changes nothing."""
    at = to_upload(open_app(monkeypatch, baseline, ANA))
    header = B.header_list("pairings")
    header = [header[0], *header]
    rows = [[r["pairing_id"], *B.row_list("pairings", r)] for r in B.GOOD_ROWS["pairings"]]
    snap = H.snapshot(baseline)
    upload(at, "pairings", "dup.csv", B.csv_bytes(header, rows))
    errors = " ".join(texts(at.error))
    assert "未发布" in errors, errors
    assert "up_publish" not in [b.key for b in at.button]
    assert H.snapshot(baseline) == snap


def test_unknown_columns_are_listed_and_ignored(monkeypatch, baseline):
    at = to_upload(open_app(monkeypatch, baseline, ANA))
    header = [*B.header_list("pairings"), "备注", "填报人"]
    rows = [[*B.row_list("pairings", r), "无", "王"] for r in B.GOOD_ROWS["pairings"]]
    upload(at, "pairings", "p.csv", B.csv_bytes(header, rows))
    info = " ".join(texts(at.info))
    assert "备注" in info and "已忽略" in info


# --- warnings ------------------------------------------------------------------------------------


def test_warnings_must_be_acknowledged_before_publishing(monkeypatch, baseline, tmp_path):
    root = H.copy_store(baseline, tmp_path / "data")
    at = to_upload(open_app(monkeypatch, root, ANA))
    bf = B.warning_files()[0]
    upload(at, bf.table, bf.file_name, bf.content)
    warns = frame_with(at, ["行号", "列", "值", "原因"])[0]
    assert (warns["行号"] == bf.expected_row).any() and warns["原因"].str.contains("校验位").any()
    assert at.button(key="up_publish").disabled
    ack = [c for c in at.checkbox if c.key and c.key.startswith("up_ack_")][0]
    ack.check().run()
    assert not at.button(key="up_publish").disabled
    publish(at)
    meta = Store(root).current("organizations")
    assert meta["version"] == "v0002" and meta["warning_count"] == 1


# --- replace, size limit, lock, scope ------------------------------------------------------------


def test_replace_whole_table_is_explicit_and_warned(monkeypatch, baseline, tmp_path):
    root = H.copy_store(baseline, tmp_path / "data")
    at = to_upload(open_app(monkeypatch, root, ANA))
    content = B.table_csv("pairings", B.GOOD_ROWS["pairings"])
    upload(at, "pairings", "p.csv", content)
    assert "删除 **0** 行" in " ".join(texts(at.markdown))
    upload(at, "pairings", "p.csv", content, replace=True)
    assert any("替换整表" in w for w in texts(at.warning))
    page = " ".join(texts(at.markdown))
    assert "删除 **1** 行" in page and "发布后共 **2** 行" in page, page
    publish(at)
    meta = Store(root).current("pairings")
    assert meta["mode"] == "replace" and meta["rows"] == 2


def test_size_limit_is_enforced_by_the_page(monkeypatch, baseline, tmp_path):
    root = H.copy_store(baseline, tmp_path / "data")
    save_settings(root, Settings(max_upload_mb=1))
    at = to_upload(open_app(monkeypatch, root, ANA))
    big = B.table_csv("pairings", B.GOOD_ROWS["pairings"]) + b"\r\n" * (1_200_000)
    snap = H.snapshot(root)
    upload(at, "pairings", "big.csv", big)
    assert any("超过上传上限 1 MB" in e for e in texts(at.error)), texts(at.error)
    assert at.file_uploader[0].proto.max_upload_size_mb == 1
    assert not problem_tables(at) and H.snapshot(root) == snap


def test_store_busy_shows_a_clear_message_and_changes_nothing(monkeypatch, baseline, tmp_path):
    root = H.copy_store(baseline, tmp_path / "data")
    save_settings(root, Settings(lock_timeout_seconds=0.5))
    at = to_upload(open_app(monkeypatch, root, ANA))
    upload(at, "pairings", "p.csv", B.table_csv("pairings", B.GOOD_ROWS["pairings"]))
    snap = H.snapshot(root)
    with Store(root).lock(5):
        at.button(key="up_publish").click().run()
        at.button(key="up_confirm_go").click().run()
    assert any("暂时无法发布" in e and "另一个上传正在写入" in e for e in texts(at.error)), \
        texts(at.error)
    assert H.snapshot(root) == snap
    at.button(key="up_confirm_go").click().run()  # the lock is free now: the retry publishes
    assert Store(root).current("pairings")["version"] == "v0002"


def test_a_publish_by_someone_else_meanwhile_is_not_overwritten_blindly(monkeypatch, baseline,
                                                                        tmp_path):
    from metrics.store.ingest import Source, ingest

    root = H.copy_store(baseline, tmp_path / "data")
    at = to_upload(open_app(monkeypatch, root, ANA))
    upload(at, "pairings", "p.csv", B.table_csv("pairings", B.GOOD_ROWS["pairings"]))
    at.button(key="up_publish").click().run()
    ingest(Store(root), "pairings", Source("other.csv", content=B.table_csv(
        "pairings", B.GOOD_ROWS["pairings"][:1])), user="other", settings=Settings())
    at.button(key="up_confirm_go").click().run()
    assert not at.exception
    assert Store(root).current("pairings")["file_name"] == "other.csv"
    assert any("重新核对" in w for w in texts(at.warning)), texts(at.warning)
    # The page now shows the check against the new data; publishing again works.
    assert "更新 **1** 行" in " ".join(texts(at.markdown))
    publish(at)
    assert Store(root).current("pairings")["file_name"] == "p.csv"


def test_scoped_analyst_may_publish_only_inside_the_scope(monkeypatch, store_dir):
    d1, d2 = H.districts(store_dir)[:2]
    fixed = H.latest_open_issues(store_dir, n=400)
    mine = fixed[fixed["community_code"].str.startswith(d1)]
    assert len(mine) and len(mine) < len(fixed)
    at = to_upload(open_app(monkeypatch, store_dir, Account("zhao", "analyst", d1)))
    upload(at, "issues", "all.csv", H.chinese_csv(fixed, "issues"))
    errors = " ".join(texts(at.error))
    assert "不属于您的范围" in errors, errors
    assert at.button(key="up_publish").disabled
    upload(at, "issues", "mine.csv", H.chinese_csv(mine, "issues"))
    assert not at.button(key="up_publish").disabled
    publish(at)
    assert Store(store_dir).current("issues")["file_name"] == "mine.csv"
    # No rollback for a scoped account.
    at.button_group(key="up_section").set_value("版本历史").run()
    at.selectbox(key="up_v_table").set_value("issues").run()
    at.selectbox(key="up_v_pick_issues").set_value("v0001").run()
    assert not [b for b in at.button if (b.key or "").startswith("up_rb_")]
    # The organizations ledger replaces whole months: a district analyst may not.
    org = pd.read_parquet(Store(store_dir).current_data("organizations"))
    last = org[(org["period"] == org["period"].max()) & org["community_code"].str.startswith(d1)]
    at.button_group(key="up_section").set_value("上传数据").run()
    upload(at, "organizations", "org.csv", H.chinese_csv(last, "organizations"))
    assert any("范围" in e and "以外单位的已有数据" in e for e in texts(at.error)), texts(at.error)
    assert at.button(key="up_publish").disabled


# --- who may see the page ------------------------------------------------------------------------


@pytest.mark.parametrize("account", [None, Account("kan", "viewer"),
                                     Account("kan", "viewer", "990102")])
def test_viewers_do_not_get_the_upload_page(monkeypatch, store_dir, account):
    at = open_app(monkeypatch, store_dir, account)
    # app.py leaves the page out of st.navigation: there is nothing to switch to.
    try:
        at.switch_page("pages/upload.py").run()
    except ValueError as e:  # AppTest knows the page is not in st.navigation
        assert "Could not find a navigation page" in str(e)
    assert not at.file_uploader and "数据上传" not in texts(at.title)
    assert_no_upload_ui_after_switch(open_app(monkeypatch, store_dir, ANA), account)


def assert_no_upload_ui_after_switch(at: AppTest, account: Account | None) -> None:
    """A session whose account loses the right (or logs out) on the upload page: the page
    itself stops before showing anything."""
    to_upload(at)
    if account is None:
        at.session_state["account"] = None
        del at.session_state["account"]
    else:
        at.session_state["account"] = account
    at.run()
    assert not at.exception, at.exception
    assert "数据上传" not in texts(at.title)
    assert not at.file_uploader
    assert not [b for b in at.button if (b.key or "").startswith("up_")]


def test_the_page_itself_refuses_a_viewer(monkeypatch, store_dir):
    """Even if something ran pages/upload.py for a viewer, it stops before any upload UI."""
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(store_dir))
    script = f"""
import runpy
from ui import state
ctx = state.context()
state.set_current(ctx, state.View(None, None, None, None))
runpy.run_path({str(H.REPO / 'pages' / 'upload.py')!r}, run_name="__main__")
"""
    for acct in (Account("kan", "viewer"), None):
        at = AppTest.from_string(script, default_timeout=TIMEOUT)
        if acct is not None:
            at.session_state["account"] = acct
        at.run()
        assert not at.exception, at.exception
        if acct is None:  # logged out: asked to log in, with the form
            assert texts(at.title) == ["请先登录"] and at.text_input(key="login_page_name")
            assert any("仅限数据分析员和管理员" in e for e in texts(at.caption))
        else:
            assert any("仅限数据分析员和管理员" in e for e in texts(at.error))
        assert not at.file_uploader and not at.dataframe


def test_login_form_then_upload_page_appears(monkeypatch, store_dir):
    at = open_login_box(open_app(monkeypatch, store_dir, None))
    at.text_input(key="login_side_name").input("ana")
    at.text_input(key="login_side_password").input(H.PASSWORD)
    at.button(key="FormSubmitter:login_side-登录").click().run()
    assert not at.exception, at.exception
    assert at.session_state["account"] == Account("ana", "analyst")
    assert at.session_state["login_side_password"] == ""  # not kept in the session
    to_upload(at)
    at.button(key="logout").click().run()
    assert "account" not in at.session_state
    assert not at.file_uploader and "数据上传" not in texts(at.title)
    try:
        at.switch_page("pages/upload.py").run()
    except ValueError as e:  # AppTest knows the page is not in st.navigation
        assert "Could not find a navigation page" in str(e)
    assert not at.file_uploader and "数据上传" not in texts(at.title)


def test_viewers_must_login_setting_shows_only_the_login_form(monkeypatch, store_dir):
    save_settings(store_dir, Settings(viewers_must_login=True))
    at = open_app(monkeypatch, store_dir, None)
    assert not at.metric
    assert at.text_input(key="login_main_name")
    at.text_input(key="login_main_name").input("kan")
    at.text_input(key="login_main_password").input("wrong password")
    at.button(key="FormSubmitter:login_main-登录").click().run()
    assert any("用户名或密码错误" in e for e in texts(at.error))
    assert not at.metric
    at.text_input(key="login_main_name").input("kan")
    at.text_input(key="login_main_password").input(H.PASSWORD)
    at.button(key="FormSubmitter:login_main-登录").click().run()
    assert at.metric and at.session_state["account"].role == "viewer"


def test_removed_or_changed_account_takes_effect_in_open_sessions(monkeypatch, store_dir):
    at = open_login_box(open_app(monkeypatch, store_dir, None))
    at.text_input(key="login_side_name").input("ana")
    at.text_input(key="login_side_password").input(H.PASSWORD)
    at.button(key="FormSubmitter:login_side-登录").click().run()
    to_upload(at)
    AccountStore(store_dir).add_or_update("ana", "viewer", None)
    at.run()
    assert at.session_state["account"].role == "viewer"
    assert not at.file_uploader
    AccountStore(store_dir).remove("ana")
    at.run()
    assert "account" not in at.session_state


# --- admin ---------------------------------------------------------------------------------------


def test_the_upload_page_has_no_admin_sections_for_anybody(monkeypatch, store_dir):
    for who in (ANA, Account("boss", "admin")):
        at = to_upload(open_app(monkeypatch, store_dir, who))
        assert at.button_group(key="up_section").options == ["上传数据", "版本历史", "模板下载"]


def test_admin_manages_accounts_settings_and_sees_the_audit_log(monkeypatch, store_dir):
    boss = Account("boss", "admin")
    at = to_admin(open_app(monkeypatch, store_dir, boss), "accounts", "账户与权限")
    d1 = H.districts(store_dir)[0]
    at.text_input(key="adm_acct_name").input("liu")
    at.selectbox(key="adm_acct_role").set_value("viewer")
    at.selectbox(key="adm_acct_scope").set_value(d1)
    at.text_input(key="adm_acct_pw").input("liu-secret-1")
    at.text_input(key="adm_acct_pw2").input("liu-secret-1")
    at.button(key="FormSubmitter:adm_acct_form-保存账户").click().run()
    assert not at.exception, at.exception
    assert AccountStore(store_dir).get("liu") == Account("liu", "viewer", d1)
    assert any("已新建账户 liu" in s for s in texts(at.success))
    # Lock liu out, then unlock.
    store = AccountStore(store_dir)
    for _ in range(5):
        with pytest.raises(AuthError):
            store.authenticate("liu", "nope-nope")
    assert store.is_locked("liu")
    at.run()
    at.selectbox(key="adm_acct_target").set_value("liu").run()
    at.button(key="adm_acct_unlock").click().run()
    assert not AccountStore(store_dir).is_locked("liu")
    # Remove: two clicks.
    at.selectbox(key="adm_acct_target").set_value("liu").run()
    at.button(key="adm_acct_remove").click().run()
    assert AccountStore(store_dir).get("liu") is not None
    at.button(key="adm_acct_rm_ok").click().run()
    assert AccountStore(store_dir).get("liu") is None

    to_admin(at, "settings", "系统设置")
    box = [n for n in at.number_input if n.label == "红黑榜数量"][0]
    box.set_value(5)
    at.button(key="FormSubmitter:adm_settings-保存设置").click().run()
    assert not at.exception, at.exception
    assert load_settings(store_dir).ranking_n == 5
    weights = [n for n in at.number_input if n.label == "综合得分权重·响应率"][0]
    weights.set_value(0.5)
    at.button(key="FormSubmitter:adm_settings-保存设置").click().run()
    assert any("权重之和应为 1" in e for e in texts(at.error))
    assert load_settings(store_dir).w_response == 0.1

    to_admin(at, "audit", "操作日志")
    log = frame_with(at, ["时间", "操作", "用户", "表", "详情"])[0]
    assert {"账户变更", "修改设置"} <= set(log["操作"])


def test_admin_uploads_boundaries_atomically_keeping_the_previous(monkeypatch, store_dir):
    from metrics.contract.boundaries import generate_boundaries

    root = store_dir
    before = (root / "boundaries.geojson").read_text(encoding="utf-8")
    at = to_admin(open_app(monkeypatch, root, Account("boss", "admin")), "boundaries", "地图边界")
    units = pd.read_parquet(Store(root).current_data("units"))
    bad = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "999999"},
         "geometry": {"type": "Point", "coordinates": [117, 31]}}]}
    at.file_uploader[0].set_value(("b.geojson", json.dumps(bad).encode(), "application/json")).run()
    problems = frame_with(at, ["问题"])[0]["问题"].tolist()
    assert any("不在区划表中" in p for p in problems) and any("Polygon" in p for p in problems)
    assert "adm_bd_save" not in [b.key for b in at.button]

    fc = generate_boundaries(units, seed=99)
    at.file_uploader[0].set_value(("new.geojson", json.dumps(fc).encode(), "application/json")).run()
    assert any("校验通过" in s for s in texts(at.success))
    at.button(key="adm_bd_save").click().run()
    assert not at.exception, at.exception
    assert json.loads((root / "boundaries.geojson").read_text(encoding="utf-8")) == fc
    assert (root / "boundaries.prev.geojson").read_text(encoding="utf-8") == before
    assert not list(root.glob("*.tmp")) and not list(root.glob(".*.tmp"))
    at.button(key="adm_bd_restore").click().run()
    assert (root / "boundaries.geojson").read_text(encoding="utf-8") == before


def test_templates_section_offers_every_table(monkeypatch, store_dir):
    from metrics.contract import schema as S

    at = to_upload(open_app(monkeypatch, store_dir, ANA))
    at.button_group(key="up_section").set_value("模板下载").run()
    keys = {b.key for b in at.get("download_button")}
    assert {f"up_tpls_{t}" for t in S.TABLES} <= keys


# --- OIDC ----------------------------------------------------------------------------------------

AUTH_SECRETS = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s" * 32,
                "client_id": "gridboard", "client_secret": "secret",
                "server_metadata_url": "http://localhost:9/.well-known/openid-configuration"}


def oidc_app(monkeypatch, data_dir: Path, user: dict) -> AppTest:
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(data_dir))
    at = AppTest.from_file(H.APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH_SECRETS
    at.user = user
    at.run()
    assert not at.exception, at.exception
    return at


def test_oidc_roles_come_from_claims_or_the_mapping_file(monkeypatch, store_dir):
    # Not signed in: an anonymous viewer, offered the single-sign-on button, no password form.
    at = oidc_app(monkeypatch, store_dir, {"is_logged_in": False})
    assert "account" not in at.session_state or at.session_state["account"] is None
    assert "统一身份认证登录" not in [b.label for b in at.button]  # inside the closed 登录 box
    open_login_box(at)
    assert "统一身份认证登录" in [b.label for b in at.button]
    assert not [t for t in at.text_input if t.key and t.key.startswith("login_")]

    at = oidc_app(monkeypatch, store_dir, {"is_logged_in": True, "email": "li@example.org",
                                           "gridboard_role": "analyst"})
    assert at.session_state["account"] == Account("li@example.org", "analyst")
    to_upload(at)

    d1 = H.districts(store_dir)[0]
    (store_dir / "oidc_roles.json").write_text(json.dumps(
        {"groups": {"district-viewers": {"role": "viewer", "scope": d1}}}), encoding="utf-8")
    at = oidc_app(monkeypatch, store_dir, {"is_logged_in": True, "email": "wu@example.org",
                                           "groups": ["district-viewers"]})
    assert at.session_state["account"] == Account("wu@example.org", "viewer", d1)
    assert at.selectbox(key="district").disabled

    at = oidc_app(monkeypatch, store_dir, {"is_logged_in": True, "email": "nobody@example.org"})
    assert any("没有访问本系统的权限" in e for e in texts(at.error))
    assert not at.metric


def test_an_empty_data_dir_is_filled_through_the_page(monkeypatch, tmp_path):
    """A new deployment: no data at all; the page says what to upload first, and the tables
    go in one after another."""
    root = tmp_path / "empty"
    root.mkdir()
    at = open_app(monkeypatch, root, Account("boss", "admin"))
    assert any("还没有数据" in i for i in texts(at.info))
    to_upload(at)
    at.selectbox(key="up_table").set_value("issues").run()
    assert any("请先上传“区划与网格”" in i for i in texts(at.info))
    for table in ("units", "pairings", "projects"):
        upload(at, table, f"{table}.csv", B.table_csv(table, B.BASELINE_ROWS[table]))
        assert any("校验通过" in s for s in texts(at.success)), (table, texts(at.error))
        publish(at)
        assert Store(root).current(table)["version"] == "v0001"
    at = open_app(monkeypatch, root, Account("boss", "admin"))
    assert not at.exception


# --- the table picker and a whole report at once ---------------------------------------------------


def test_table_picker_defaults_to_issues_and_suggests_the_table_from_the_headers(monkeypatch,
                                                                                   baseline):
    at = to_upload(open_app(monkeypatch, baseline, ANA))
    picker = at.selectbox(key="up_table")
    assert picker.value == "issues" and picker.options[0].startswith("事件/诉求工单")
    content = B.table_csv("organizations", B.GOOD_ROWS["organizations"])
    at.file_uploader[0].set_value(("台账.csv", content, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    label = "两新组织党建台账"
    info = " ".join(texts(at.info))
    assert f"表头看起来是「{label}」，是否切换？" in info, info
    at.button(key="up_switch_table").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="up_table").value == "organizations"
    assert "表头看起来是" not in " ".join(texts(at.info))
    assert "up_switch_table" not in [b.key for b in at.button]
    assert any("校验通过" in s for s in texts(at.success)), texts(at.error)
    # A file that fits the chosen table offers nothing.
    at.file_uploader[0].set_value(("工单.csv", B.table_csv("issues", B.GOOD_ROWS["issues"]),
                                   "text/csv"))
    at.selectbox(key="up_table").set_value("issues").run()
    assert "表头看起来是" not in " ".join(texts(at.info))


def test_a_bad_file_shows_every_problem_at_once_with_the_header_row_found(monkeypatch, baseline):
    """Title rows above the header, a missing column, a repeated key and 2026-11-31: all in one
    report, row numbers counted from the header actually found (row 3), reasons shown whole."""
    t = "issues"
    keep = [(c, h) for c, h in B.HEADERS[t] if c != "category"]
    rows = [B.GOOD_ROWS[t][0],  # row 4
            {**B.BAD_BASE[t], "issue_id": B.GOOD_ROWS[t][0]["issue_id"]},  # row 5: repeats row 4
            {**B.BAD_BASE[t], "closed_at": "2026-11-31 10:00"},  # row 6
            {**B.BAD_BASE[t], "issue_id": "GD0198", "source": "微信"}]  # row 7: a long reason
    content = B.csv_bytes([h for _, h in keep], [[r.get(c, "") for c, _ in keep] for r in rows],
                          title=["2026年4月工单导出", "东华街道"])
    at = to_upload(open_app(monkeypatch, baseline, ANA))
    upload(at, t, "工单_标题行.csv", content)
    errs = problem_tables(at)[0]
    got = sorted(zip(errs["行号"].astype(int), errs["列"], errs["原因"]))
    assert [(r, c) for r, c, _ in got] == [(3, "问题类别"), (4, "工单编号"), (5, "工单编号"),
                                           (6, "办结时间"), (7, "来源")], got
    assert "缺少必填列" in got[0][2]
    assert got[1][2] == got[2][2] == "工单编号重复(第 4、5 行)"
    assert got[3][2] == "日期不存在：2026年11月只有30天"
    page = " ".join(texts(at.markdown))
    assert "表头在第 3 行" in page and "表头：第 3 行" in page, page
    counts = frame_with(at, ["原因", "处数"])[0]
    assert counts.loc[counts["原因"] == "工单编号重复", "处数"].tolist() == [2]
    # The 原因 column is wide, and its rows are tall enough for Streamlit to wrap a reason
    # longer than one line (it wraps only rows taller than 4rem = 64 px).
    longest = max(len(r) for _, _, r in got)
    assert longest > 2 * 14  # 取值不在允许范围内，应为：网格员上报、12345热线、…
    tables = [d for d in at.dataframe if "原因" in d.value.columns]
    assert len(tables) == 2
    for d in tables:
        assert d.proto.row_height > 64, d.value.columns
        config = json.loads(d.proto.columns)
        assert config["原因"]["width"] >= 400, config


# --- the demo city ------------------------------------------------------------------------------


def demo_label(at: AppTest) -> bool:
    return any('class="gb-demo"' in m.value for m in at.markdown)


def test_demo_label_stays_until_the_admin_clears_the_demo_city(monkeypatch, store_dir):
    from metrics.store.ingest import Source, ingest

    # An analyst uploads real 工单; every other table is still the demo city's.
    ingest(Store(store_dir), "issues",
           Source("工单.csv", content=H.chinese_csv(H.latest_open_issues(store_dir), "issues")),
           user="ana", settings=Settings())
    boss = Account("boss", "admin")
    at = open_app(monkeypatch, store_dir, boss)
    assert demo_label(at), "one real table does not make the whole city real"

    to_admin(at, "settings", "系统设置")
    box = " ".join(texts(at.caption))
    assert "仍是示例数据" in box and "区划与网格" in box and "事件/诉求工单" not in box, box
    at.button(key="adm_demo_clear").click().run()
    assert any("确认清除示例数据" in w for w in texts(at.warning))
    assert Store(store_dir).demo_tables(), "nothing is cleared before the confirmation"
    at.button(key="adm_demo_ok").click().run()
    assert not at.exception, at.exception
    assert any("已清除示例数据" in s for s in texts(at.success)), texts(at.error)
    store = Store(store_dir)
    assert store.demo_tables() == [] and store.current("issues")["user"] == "ana"
    assert [x["event"] for x in store.audit_lines()].count("clear_demo") == 1
    assert "adm_demo_clear" not in [b.key for b in at.button]  # nothing left to clear

    at.switch_page("pages/overview.py").run()
    assert not at.exception, at.exception
    assert not demo_label(at)
