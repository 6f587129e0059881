"""The schedule editor on 管理 › 定时报告 (admins only), through Streamlit's AppTest: list the
schedules of <data dir>/schedules.json, add, edit and remove one with Chinese validation errors,
and run the due ones into the outbox — all through ``metrics.schedule``."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics import schedule as SCH
from metrics.accounts import Account
from metrics.store.versions import Store
from tests import upload_helpers as H

pytestmark = pytest.mark.usefixtures("real_session_runs")
real_session_runs = H.real_session_runs

TIMEOUT = 300
BOSS = Account("boss", "admin")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sched") / "data"
    return H.make_sample(root, accounts={"boss": ("admin", None), "ana": ("analyst", None)})


@pytest.fixture
def store_dir(sample, tmp_path) -> Path:
    return H.copy_store(sample, tmp_path / "data")


def open_section(monkeypatch, data_dir: Path, account: Account) -> AppTest:
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(data_dir))
    at = AppTest.from_file(H.APP, default_timeout=TIMEOUT)
    at.session_state["account"] = account
    at.run()
    at.switch_page("pages/admin_schedules.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["定时报告"]
    return at


def fill(at: AppTest, **values) -> AppTest:
    for key, value in values.items():
        widget = {"id": at.text_input, "name": at.text_input, "recipients": at.text_area,
                  "frequency": at.selectbox, "unit": at.selectbox, "level": at.selectbox,
                  "formats": at.multiselect, "enabled": at.checkbox}[key](key=f"adm_sch_{key}")
        if key in ("id", "name", "recipients"):
            widget.input(value)
        else:
            widget.set_value(value)
    return at


def save(at: AppTest) -> AppTest:
    at.button(key="FormSubmitter:adm_sch_form-保存计划").click().run()
    assert not at.exception, at.exception
    return at


def listed(at: AppTest):
    frames = [d.value for d in at.dataframe if "编号" in d.value.columns and "频率" in d.value.columns]
    return frames[0] if frames else None


def test_admin_adds_edits_and_removes_a_schedule(monkeypatch, store_dir):
    at = open_section(monkeypatch, store_dir, BOSS)
    assert listed(at) is None and any("还没有定时报告计划" in i.value for i in at.info)
    district = H.districts(store_dir)[0]
    fill(at, id="monthly-d1", name="区县月报", frequency="monthly", unit=district, level="street",
         formats=["xlsx", "pdf"], recipients="a@example.org，b@example.org\nc@example.org")
    save(at)
    assert any("已新建计划 monthly-d1" in s.value.replace("\\", "") for s in at.success)
    (sch,) = SCH.load_schedules(store_dir)
    assert sch == SCH.Schedule(id="monthly-d1", name="区县月报", frequency="monthly",
                               formats=("xlsx", "pdf"), level="street", unit=district,
                               recipients=("a@example.org", "b@example.org", "c@example.org"))
    table = listed(at)
    assert table.iloc[0].to_dict() | {"单位": "-"} == {
        "编号": "monthly-d1", "名称": "区县月报", "频率": "月报", "单位": "-", "排名层级": "街道",
        "文件": "通报表、推进会PDF", "收件人": "a@example.org、b@example.org、c@example.org",
        "状态": "启用"}

    # Edit: picking it fills the form; change the frequency and disable it.
    at.selectbox(key="adm_sch_pick").set_value("monthly-d1").run()
    assert at.text_input(key="adm_sch_name").value == "区县月报"
    assert at.multiselect(key="adm_sch_formats").value == ["xlsx", "pdf"]
    fill(at, frequency="weekly", enabled=False)
    save(at)
    (sch,) = SCH.load_schedules(store_dir)
    assert (sch.frequency, sch.enabled, sch.formats) == ("weekly", False, ("xlsx", "pdf"))
    assert listed(at).iloc[0]["状态"] == "停用"

    # Remove: two clicks.
    at.button(key="adm_sch_remove").click().run()
    assert SCH.load_schedules(store_dir) != []
    at.button(key="adm_sch_rm_ok").click().run()
    assert not at.exception, at.exception
    assert SCH.load_schedules(store_dir) == []
    log = [e for e in Store(store_dir).audit_lines() if e.get("event") == "schedule"]
    assert [(e["action"], e["target"], e["user"]) for e in log] == [
        ("add", "monthly-d1", "boss"), ("update", "monthly-d1", "boss"),
        ("remove", "monthly-d1", "boss")]


@pytest.mark.parametrize(("values", "message"), [
    ({"id": "月报", "name": "x"}, "计划编号只能用字母、数字、- 和 _"),
    ({"id": "m1", "name": " "}, "计划名称不能为空"),
    ({"id": "m1", "name": "x", "formats": []}, "文件类型应为"),
    ({"id": "m1", "name": "x", "recipients": "not-an-address"}, "收件人地址无效"),
])
def test_invalid_schedule_is_refused_in_chinese(monkeypatch, store_dir, values, message):
    at = open_section(monkeypatch, store_dir, BOSS)
    fill(at, **values)
    save(at)
    errors = [e.value for e in at.error]
    assert any(e.startswith("未保存：") and message in e for e in errors), errors
    assert SCH.load_schedules(store_dir) == []


def test_run_now_writes_the_due_files_once(monkeypatch, store_dir):
    SCH.save_schedules(store_dir, [SCH.Schedule(id="m", name="全市月报", frequency="monthly",
                                                formats=("xlsx",))])
    at = open_section(monkeypatch, store_dir, BOSS)
    assert listed(at)["编号"].tolist() == ["m"]
    at.button(key="adm_sch_run").click().run()
    assert not at.exception, at.exception
    results = [d.value for d in at.dataframe if "结果" in d.value.columns and "计划" in d.value.columns]
    assert results and results[0]["结果"].tolist() == ["已生成"]
    folders = [p for p in (store_dir / "outbox" / "m").iterdir()]
    assert len(folders) == 1 and [f.suffix for f in folders[0].iterdir()] == [".xlsx"]
    at.button(key="adm_sch_run").click().run()
    results = [d.value for d in at.dataframe if "结果" in d.value.columns and "计划" in d.value.columns]
    assert results[0]["结果"].tolist() == ["本期已生成，跳过"]


def test_analyst_is_stopped_on_the_schedule_page(monkeypatch, store_dir):
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(store_dir))
    at = AppTest.from_file(H.APP, default_timeout=TIMEOUT)
    at.session_state["account"] = Account("ana", "analyst")
    at.run()
    at.switch_page("pages/admin_schedules.py").run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["“定时报告”仅限管理员使用，请用管理员账户登录。"]
    assert not at.title and not at.text_input and "adm_sch_run" not in [b.key for b in at.button]
