"""The 管理 pages (pages/admin_*.py) through Streamlit's AppTest: each opens for an admin with its
own tools, stops an analyst or a viewer with a Chinese message before drawing anything, and
asks a logged-out visitor to log in. (What each page does is tested with its tools:
tests/test_page_upload.py for accounts, settings, boundaries and the log,
tests/test_page_schedules.py for the schedules.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics.accounts import Account
from tests import upload_helpers as H

pytestmark = pytest.mark.usefixtures("real_session_runs")
real_session_runs = H.real_session_runs

TIMEOUT = 180
BOSS = Account("boss", "admin")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("admin") / "data"
    return H.make_sample(root, accounts={"boss": ("admin", None), "ana": ("analyst", None)})


def open_page(monkeypatch, data_dir: Path, account: Account | None, page: str) -> AppTest:
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(data_dir))
    at = AppTest.from_file(H.APP, default_timeout=TIMEOUT)
    if account is not None:
        at.session_state["account"] = account
    at.run()
    at.switch_page(f"pages/admin_{page}.py").run()
    assert not at.exception, at.exception
    return at


def labels(elements) -> list[str]:
    return [e.label for e in elements]


def test_settings_page_shows_the_settings_form_and_the_demo_box(monkeypatch, sample):
    at = open_page(monkeypatch, sample, BOSS, "settings")
    assert [t.value for t in at.title] == ["系统设置"]
    assert "红黑榜数量" in labels(at.number_input)
    assert "adm_demo_clear" in [b.key for b in at.button]  # the sample city is the demo's
    engine = [s for s in at.selectbox if s.label == "查询引擎"][0]
    assert engine.value == "duckdb" and engine.options == ["内置引擎(DuckDB，本机)", "集群引擎(Spark)"]
    assert not at.error


def test_accounts_page_lists_the_accounts_with_their_roles(monkeypatch, sample):
    at = open_page(monkeypatch, sample, BOSS, "accounts")
    assert [t.value for t in at.title] == ["账户与权限"]
    listed = [d.value for d in at.dataframe if "用户名" in d.value.columns][0]
    assert dict(zip(listed["用户名"], listed["角色"], strict=True)) == {
        "ana": "数据分析员", "boss": "管理员"}
    assert at.text_input(key="adm_acct_name") is not None


def test_boundaries_page_offers_the_geojson_upload(monkeypatch, sample):
    at = open_page(monkeypatch, sample, BOSS, "boundaries")
    assert [t.value for t in at.title] == ["地图边界"]
    assert len(at.get("file_uploader")) == 1
    assert any("当前边界" in m.value for m in at.markdown)


def test_schedules_page_offers_the_editor_and_the_run_button(monkeypatch, sample):
    at = open_page(monkeypatch, sample, BOSS, "schedules")
    assert [t.value for t in at.title] == ["定时报告"]
    assert "adm_sch_run" in [b.key for b in at.button]
    assert at.text_input(key="adm_sch_id") is not None


def test_audit_page_lists_the_publications_of_the_sample(monkeypatch, sample):
    at = open_page(monkeypatch, sample, BOSS, "audit")
    assert [t.value for t in at.title] == ["操作日志"]
    log = [d.value for d in at.dataframe if "操作" in d.value.columns][0]
    assert "发布数据" in set(log["操作"])
    assert "adm_audit_csv" in [b.key for b in at.get("download_button")]


PAGES = {"settings": "系统设置", "accounts": "账户与权限", "boundaries": "地图边界",
         "schedules": "定时报告", "audit": "操作日志"}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("who", [Account("ana", "analyst"), Account("kan", "viewer")],
                         ids=["analyst", "viewer"])
def test_an_admin_page_stops_every_other_role_before_drawing_anything(monkeypatch, sample, page,
                                                                      who):
    at = open_page(monkeypatch, sample, who, page)
    assert [e.value for e in at.error] == [f"“{PAGES[page]}”仅限管理员使用，请用管理员账户登录。"]
    assert not at.title
    assert not at.get("form") and not at.dataframe and not at.get("file_uploader")


@pytest.mark.parametrize("page", ["settings", "audit"])
def test_an_admin_page_opened_logged_out_asks_for_a_login(monkeypatch, sample, page):
    at = open_page(monkeypatch, sample, None, page)
    assert [t.value for t in at.title] == ["请先登录"]
    assert any(f"“{PAGES[page]}”仅限管理员使用" in c.value for c in at.caption)
    assert at.text_input(key="login_page_name") is not None
    assert not at.dataframe and "红黑榜数量" not in labels(at.number_input)
