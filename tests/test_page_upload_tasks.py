"""数据上传 with the 重点任务督办 ledger: a good file is checked and published through the page and
then counts on 重点任务督办; a bad one is reported by row and column (a personal mobile number
masked in the report) and changes nothing."""

from __future__ import annotations

import shutil

import pytest

from metrics.settings import Settings
from metrics.store.versions import Store
from tests import bad_files as B
from tests.test_page_upload import (  # noqa: F401
    ANA,
    headline,
    open_app,
    problem_tables,
    publish,
    real_session_runs,
    texts,
    to_upload,
    upload,
)

pytestmark = pytest.mark.usefixtures("real_session_runs")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    from tests import upload_helpers as H

    root = tmp_path_factory.mktemp("baseline-tasks") / "data"
    root.mkdir(parents=True)
    B.build_baseline(Store(root), Settings())
    H.add_accounts(root, {"ana": ("analyst", None)})
    return root


def test_good_task_ledger_is_published_through_the_page(monkeypatch, baseline, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(baseline, root)
    at = to_upload(open_app(monkeypatch, root, ANA))
    upload(at, "tasks", "tasks.csv", B.table_csv("tasks", B.GOOD_ROWS["tasks"]))
    assert any("校验通过" in s for s in texts(at.success)), texts(at.error)
    publish(at)
    meta = Store(root).current("tasks")
    assert meta["version"] == "v0002" and meta["rows"] == 3  # upserted by 任务编号: RW001 + two
    at.switch_page("pages/tasks.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["重点任务督办"]
    cards = headline(at)
    assert cards["任务数"] == "3" and "任务完成率" in cards


@pytest.mark.parametrize("name,reason", [
    ("tasks_unit_is_a_community", "区县或街道"),
    ("tasks_owner_with_mobile_number", "个人信息"),
])
def test_bad_task_file_is_reported_by_row_and_column(monkeypatch, baseline, tmp_path, name,
                                                     reason):
    root = tmp_path / "data"
    shutil.copytree(baseline, root)
    f = next(f for f in B.bad_files() if f.name == name)
    at = to_upload(open_app(monkeypatch, root, ANA))
    upload(at, f.table, f.file_name, f.content)
    [problems] = problem_tables(at)
    assert problems["行号"].tolist() == [f.expected_row]
    assert f.expected_column in problems["列"].iloc[0]
    assert reason in problems["原因"].iloc[0]
    if name == "tasks_owner_with_mobile_number":  # the report never repeats the number
        assert B.PII_PHONE not in " ".join(problems.astype(str).agg(" ".join, axis=1))
    assert Store(root).current("tasks")["version"] == "v0001"
