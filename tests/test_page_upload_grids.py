"""数据上传 with the grid and compound snapshots: a good file is checked and published through
the page and then shows on 网格与小区; a bad one is reported by row and column and changes
nothing."""

from __future__ import annotations

import shutil

import pytest

from metrics.settings import Settings
from metrics.store.versions import Store
from tests import bad_files as B
from tests.test_page_upload import (  # noqa: F401
    ANA,
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

    root = tmp_path_factory.mktemp("baseline-grids") / "data"
    root.mkdir(parents=True)
    B.build_baseline(Store(root), Settings())
    H.add_accounts(root, {"ana": ("analyst", None)})
    return root


@pytest.mark.parametrize("table", ["grids", "compounds"])
def test_good_snapshot_is_published_through_the_page(monkeypatch, baseline, tmp_path, table):
    root = tmp_path / "data"
    shutil.copytree(baseline, root)
    at = to_upload(open_app(monkeypatch, root, ANA))
    upload(at, table, f"{table}.csv", B.table_csv(table, B.GOOD_ROWS[table]))
    assert any("校验通过" in s for s in texts(at.success)), texts(at.error)
    publish(at)
    meta = Store(root).current(table)
    assert meta["version"] == "v0002" and meta["periods"] == ["2026-04"]
    at.switch_page("pages/grids.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["网格与小区"]


def test_bad_compound_file_is_reported_by_row_and_column(monkeypatch, baseline, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(baseline, root)
    f = next(f for f in B.bad_files() if f.name == "compounds_community_unknown")
    at = to_upload(open_app(monkeypatch, root, ANA))
    upload(at, f.table, f.file_name, f.content)
    [problems] = problem_tables(at)
    assert problems["行号"].tolist() == [f.expected_row]
    assert f.expected_column in problems["列"].iloc[0]
    assert "社区代码不存在" in problems["原因"].iloc[0]
    assert Store(root).current("compounds")["version"] == "v0001"
