"""推进会 in a real browser: move through every slide with the keyboard, export both files
through the download buttons and open them, and print one slide per page."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from pptx import Presentation

from metrics.datadir import write_sample
from metrics.store.versions import Store
from tests.browser.conftest import wait_for_streamlit


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("meeting")
    write_sample(Store(path), seed=7, scale=0.05)
    return path


def slide_number(page: Page) -> tuple[int, int]:
    text = page.locator(".gb-slide-no").first.inner_text()
    now, total = re.match(r"(\d+)\s*/\s*(\d+)", text).groups()
    return int(now), int(total)


def test_keyboard_moves_through_every_slide_and_both_exports_open(
        app_server, page, open_app, screenshot, data_dir, tmp_path):
    base = app_server(data_dir)
    open_app(page, base, "presentation", timeout_ms=180_000)
    expect(page.locator("h1", has_text="推进会").first).to_be_visible()
    now, total = slide_number(page)
    assert (now, total) == (1, total) and total >= 10
    titles = [page.locator("h1.gb-slide-title").inner_text()]
    screenshot(page, "presentation-slide-01")
    for expected in range(2, total + 1):
        page.locator("body").press("ArrowRight")
        wait_for_streamlit(page)
        expect(page.locator(".gb-slide-no").first).to_have_text(re.compile(rf"^{expected}\s*/"))
        titles.append(page.locator("h1.gb-slide-title").inner_text())
    screenshot(page, "presentation-last-slide")
    assert titles[1] == "主要指标总览" and titles[-1] == "下一步工作"
    assert len(set(titles)) == total  # every slide is a different one
    page.locator("body").press("ArrowLeft")
    wait_for_streamlit(page)
    assert slide_number(page)[0] == total - 1

    with page.expect_download() as info:
        page.get_by_role("button", name="导出 PPTX").click()
    pptx = info.value.path()
    deck = Presentation(str(pptx))
    assert len(deck.slides) == total
    charts = [sh for s in deck.slides for sh in s.shapes if getattr(sh, "has_chart", False)]
    assert charts, "the deck has native charts"

    with page.expect_download() as info:
        page.get_by_role("button", name="导出通报表 XLSX").click()
    wb = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert {"两个覆盖", "问题解决", "结对联建", "口径说明"} <= set(wb.sheetnames)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)


def test_print_mode_puts_one_slide_on_each_page(app_server, page, open_app, data_dir):
    base = app_server(data_dir)
    open_app(page, base, "presentation", timeout_ms=180_000)
    page.get_by_text("打印全部页").click()
    wait_for_streamlit(page)
    slides = page.locator("h1.gb-slide-title")
    expect(slides.first).to_be_visible()
    count = slides.count()
    assert count >= 10
    pdf = page.pdf(format="A4", landscape=True, print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    # One slide per page at least (a long table may run onto a second page, never two slides
    # on one).
    assert pages >= count
