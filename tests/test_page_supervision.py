"""督办与预警 on the pages, on the three-month city of test_supervision (target 组织覆盖率 80%):
in October 甲区's 东街道 is exactly at target (绿灯) and 西街道 76.0% for the third month running
(黄灯 turned 红灯); 乙区's 南街道 is 5.0 points behind (红灯)."""

from __future__ import annotations

import pytest

from tests import fixtures as F
from tests.test_pages import new_app, open_page
from tests.test_supervision import _orgs


@pytest.fixture(scope="module")
def city3_dir(tmp_path_factory):
    import pandas as pd

    frames = F.city_frames()
    frames["organizations"] = _orgs()
    frames["targets"] = pd.DataFrame([(2026, "org_coverage_rate", None, 0.8)],
                                     columns=F.TARGET_COLUMNS)
    path = tmp_path_factory.mktemp("sup_pages")
    F.build_store(path, frames)
    return path


def _texts(at) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n" + "\n".join(c.value for c in at.caption)


def test_lights_tab_shows_each_street_with_its_light_and_the_rule(monkeypatch, city3_dir):
    at = open_page(new_app(monkeypatch, city3_dir, unit=F.D_A, period="2026-10",
                           coverage_detail="红黄绿灯"), "coverage")
    [table] = at.dataframe
    rows = {r["单位"]: r["组织覆盖率"] for r in table.value.to_dict("records")}
    assert rows == {"东街道": "80.0% 绿灯", "西街道": "76.0% 红灯*"}
    text = _texts(at)
    assert "红灯 1 项" in text and "绿灯 1 项" in text and "黄灯 0 项" in text
    assert "落后5个百分点及以上，或连续3期黄灯" in text  # the rule with the thresholds in force
    assert "连续后进(组织覆盖率)" in text and "西街道(连续3期" in text


def test_card_carries_the_light_of_the_unit(monkeypatch, city3_dir):
    at = open_page(new_app(monkeypatch, city3_dir, unit=F.S_WEST, period="2026-10"), "coverage")
    lines = [m.value for m in at.markdown if "gb-target" in m.value]
    assert any("红灯(连续黄灯转红灯)" in x and "目标 80.0%" in x for x in lines), lines


def test_lights_tab_without_targets_says_so(monkeypatch, city3_dir):
    at = open_page(new_app(monkeypatch, city3_dir, unit=F.D_A, period="2026-10",
                           issues_detail="红黄绿灯"), "issues")
    assert any("没有设置年度目标" in i.value for i in at.info)


def test_overview_lists_red_units_and_lagging_streets(monkeypatch, city3_dir):
    at = open_page(new_app(monkeypatch, city3_dir, unit=F.D_A, period="2026-10"), "overview")
    text = _texts(at)
    assert "督办预警" in [h.value for h in at.subheader]
    assert "两个覆盖**：红灯街道 1 个：西街道" in text
    assert "西街道(连续3期" in text
    labels = [b.label for b in at.get("download_button")]
    assert "下载本页摘要 PDF" in labels and "督办通知 DOCX(红灯单位)" in labels
