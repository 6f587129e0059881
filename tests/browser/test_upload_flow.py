"""数据上传 in a real browser: log in, upload an XLSX through the real file chooser, publish,
see 总览 move; viewers cannot open the page; a scoped viewer sees only their district."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from tests import upload_helpers as H
from tests.browser.conftest import wait_for_streamlit


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser-city") / "data"
    H.make_sample(root, accounts={"ana": ("analyst", None), "kan": ("viewer", None)})
    d1 = H.districts(root)[0]
    H.add_accounts(root, {"dv": ("viewer", d1)})
    return root


@pytest.fixture
def data_dir(city, tmp_path) -> Path:
    return H.copy_store(city, tmp_path / "data")


def sidebar(page: Page):
    return page.locator('[data-testid="stSidebar"]')


def main(page: Page):
    return page.locator('[data-testid="stMain"]')


def log_in(page: Page, name: str) -> None:
    side = sidebar(page)
    side.locator('[data-testid="stExpander"]').filter(has_text="登录").locator("summary").click()
    side.get_by_label("用户名").fill(name)
    side.get_by_label("密码").fill(H.PASSWORD)
    side.get_by_role("button", name="登录").click()
    wait_for_streamlit(page)
    expect(side.get_by_text(f"当前用户：{name}")).to_be_visible()


def go(page: Page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    wait_for_streamlit(page)


def card(page: Page, label: str) -> str:
    metric = main(page).locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{label}")))
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def test_analyst_uploads_chinese_xlsx_and_overview_moves(app_server, page: Page, open_app,
                                                         screenshot, data_dir, tmp_path):
    base = app_server(data_dir)
    open_app(page, base)
    before = card(page, "办结率")
    city_before = H.report_json(data_dir, "issues", "--level", "city")["rows"][0]
    assert before == pct(city_before["close_rate"])

    log_in(page, "ana")
    go(page, "数据上传")
    expect(main(page).get_by_role("heading", name="数据上传")).to_be_visible()
    main(page).locator('[data-testid="stSelectbox"]').filter(has_text="数据表").click()
    page.get_by_role("option", name="事件/诉求工单").click()
    wait_for_streamlit(page)

    fixed = H.latest_open_issues(data_dir)
    xlsx = tmp_path / "本月工单更新.xlsx"
    xlsx.write_bytes(H.chinese_xlsx(fixed, "issues"))
    main(page).locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(xlsx))
    wait_for_streamlit(page)
    expect(main(page).get_by_text("校验通过，没有发现问题。")).to_be_visible(timeout=60_000)
    expect(main(page).get_by_text("格式：Excel(XLSX)", exact=False)).to_be_visible()
    expect(main(page).get_by_text(f"更新 {len(fixed)} 行", exact=False)).to_be_visible()
    screenshot(page, "upload-checked")

    main(page).get_by_role("button", name="发布…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("确认发布").first).to_be_visible()
    screenshot(page, "upload-confirm-dialog")
    dialog.get_by_role("button", name="确认发布").click()
    wait_for_streamlit(page)
    expect(main(page).get_by_text("已发布“事件/诉求工单”新版本 v0002", exact=False)).to_be_visible(
        timeout=60_000)
    screenshot(page, "upload-published")

    go(page, "总览")
    after = card(page, "办结率")
    city_after = H.report_json(data_dir, "issues", "--level", "city")["rows"][0]
    assert after == pct(city_after["close_rate"]) and after != before, (before, after)
    screenshot(page, "overview-after-upload")


def test_viewer_cannot_open_the_upload_page(app_server, page: Page, open_app, data_dir):
    base = app_server(data_dir)
    open_app(page, base)
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_text("总览", exact=True)).to_be_visible()
    expect(nav.get_by_text("数据上传", exact=True)).to_have_count(0)  # anonymous = viewer
    log_in(page, "kan")
    expect(nav.get_by_text("数据上传", exact=True)).to_have_count(0)
    # In the same session: the browser's own routing to /upload.
    page.evaluate("""() => { window.history.pushState({}, '', '/upload');
                            window.dispatchEvent(new PopStateEvent('popstate')); }""")
    wait_for_streamlit(page)
    expect(main(page).locator('[data-testid="stFileUploader"]')).to_have_count(0)
    expect(main(page).get_by_role("heading", name="数据上传")).to_have_count(0)
    # By URL (a new tab, still logged in as the viewer by the session cookie): no upload UI.
    open_app(page, base, "upload")
    expect(main(page).locator('[data-testid="stFileUploader"]')).to_have_count(0)
    expect(main(page).get_by_role("heading", name="数据上传")).to_have_count(0)
    expect(main(page).get_by_text("数据上传仅限数据分析员和管理员使用")).to_be_visible()
    # Logged out, by URL: 请先登录 with the form, never the upload tools.
    page.context.clear_cookies()
    open_app(page, base, "upload")
    expect(main(page).locator('[data-testid="stFileUploader"]')).to_have_count(0)
    expect(main(page).get_by_role("heading", name="请先登录")).to_be_visible()


def test_scoped_viewer_sees_only_their_district(app_server, page: Page, open_app, screenshot,
                                                data_dir):
    d1, d2 = H.districts(data_dir)[:2]
    base = app_server(data_dir)
    open_app(page, base, f"?unit={d2}")
    log_in(page, "dv")
    district = sidebar(page).locator('[data-testid="stSelectbox"]').filter(has_text="区县")
    expect(district.locator("input")).to_be_disabled()
    rows = H.report_json(data_dir, "issues", "--level", "district", "--filter", f"unit={d1}")["rows"]
    assert [r["unit_code"] for r in rows] == [d1]
    name = rows[0]["unit_name"]
    expect(district.locator("input")).to_have_value(name)
    assert card(page, "办结率") == pct(rows[0]["close_rate"])
    cov = H.report_json(data_dir, "coverage", "--level", "district", "--filter", f"unit={d1}")
    assert card(page, "组织覆盖率") == pct(cov["rows"][0]["org_coverage_rate"])
    assert f"unit={d1}" in page.url or "unit=" not in page.url
    # The other district's name is nowhere in the ranking or the tables.
    other = H.report_json(data_dir, "issues", "--level", "district", "--filter",
                          f"unit={d2}")["rows"][0]["unit_name"]
    expect(main(page).get_by_text(other, exact=True)).to_have_count(0)
    screenshot(page, "scoped-viewer-overview")


def test_bad_file_shows_errors_and_the_report_downloads(app_server, page: Page, open_app,
                                                        screenshot, data_dir, tmp_path):
    import io

    import openpyxl

    base = app_server(data_dir)
    open_app(page, base)
    log_in(page, "ana")
    go(page, "数据上传")
    main(page).locator('[data-testid="stSelectbox"]').filter(has_text="数据表").click()
    page.get_by_role("option", name="事件/诉求工单").click()
    wait_for_streamlit(page)
    fixed = H.latest_open_issues(data_dir, n=30)
    fixed.loc[3, "community_code"] = "990999001001"  # no such community: file row 5
    fixed.loc[3, "grid_code"] = None
    fixed.loc[7, "due_at"] = fixed.loc[7, "reported_at"] - pd.Timedelta(days=1)  # row 9
    bad = tmp_path / "工单_有错.csv"
    bad.write_bytes(H.chinese_csv(fixed, "issues"))
    before = H.snapshot(data_dir)
    main(page).locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    wait_for_streamlit(page)
    expect(main(page).get_by_text("发现 2 处错误，文件未发布", exact=False)).to_be_visible(
        timeout=60_000)
    expect(main(page).get_by_role("button", name="发布…")).to_have_count(0)
    screenshot(page, "upload-rejected")
    with page.expect_download() as info:
        main(page).get_by_role("button", name=re.compile("下载错误报告")).click()
    download = info.value
    assert download.suggested_filename == "工单_有错_错误报告.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert wb.sheetnames[:2] == ["错误明细", "按原因汇总"]
    detail = wb["错误明细"]
    assert sorted(detail.cell(r, 1).value for r in range(2, detail.max_row + 1)) == [5, 9]
    assert H.snapshot(data_dir) == before
