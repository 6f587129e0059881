"""演示模式 on a 1920×1080 screen: the slide fills the screen (scaled to fit, no scrollbars), no
control is left in sight, the browser goes full screen, the arrow keys turn the slides, and Esc
or the 退出演示 button bring the page back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from metrics.datadir import write_sample
from metrics.store.versions import Store
from tests.browser.conftest import SCREENSHOTS, wait_for_streamlit

SCREEN = {"width": 1920, "height": 1080}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("present")
    write_sample(Store(path), seed=7, scale=0.05)
    return path


def enter(page: Page) -> None:
    page.locator('[data-testid="stMain"]').get_by_text("演示模式", exact=True).click()
    wait_for_streamlit(page)
    expect(page.get_by_role("button", name=re.compile("退出演示"))).to_be_visible()
    page.wait_for_timeout(800)  # the fit runs on the next animation frames


def shot(page: Page, name: str) -> None:
    """The screen as the audience sees it (the suite's full-page helper would grow the window)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def slide_no(page: Page) -> int:
    return int(page.locator(".gb-slide-no").first.inner_text().split("/")[0])


def assert_presenting(page: Page) -> None:
    vw, vh = SCREEN["width"], SCREEN["height"]
    box = page.locator(".st-key-gb_slide").bounding_box()
    assert box is not None
    assert box["width"] * box["height"] >= 0.9 * vw * vh, f"the slide box is {box}"
    stage = page.locator(".st-key-gb_stage").bounding_box()
    assert stage["x"] >= -1 and stage["y"] >= -1, stage
    assert stage["x"] + stage["width"] <= vw + 1 and stage["y"] + stage["height"] <= vh + 1, \
        f"the slide is cut off: {stage}"
    assert stage["width"] >= 0.9 * vw or stage["height"] >= 0.9 * vh, \
        f"the slide is not scaled to the screen: {stage}"
    foot = page.locator(".gb-slide-foot").first.bounding_box()
    assert foot["y"] + foot["height"] <= vh + 1, "the slide's last line is below the screen"
    for sel in ('[data-testid="stSidebar"]', '[data-testid="stHeader"]', "header",
                '[data-testid="stToolbar"]', '[data-testid="stExpandSidebarButton"]',
                ".st-key-gb_controls", ".st-key-gb_nav", ".st-key-gb_after",
                '[data-testid="stDownloadButton"]'):
        for el in page.locator(sel).all():
            assert not el.is_visible(), f"{sel} is visible in 演示模式"
    for name in ("上一页", "下一页", "导出 PPTX"):
        assert not page.get_by_role("button", name=name).is_visible()
    scroll = page.evaluate("""() => {
        const d = document.documentElement, m = document.querySelector('[data-testid="stMain"]');
        const mo = getComputedStyle(m).overflowY;
        return {docH: d.scrollHeight - innerHeight, docW: d.scrollWidth - innerWidth,
                main: mo === 'hidden' ? 0 : m.scrollHeight - m.clientHeight};
    }""")
    assert scroll == {"docH": 0, "docW": 0, "main": 0}, f"scrollbars in 演示模式: {scroll}"


def assert_normal(page: Page) -> None:
    expect(page.locator('[data-testid="stSidebar"]')).to_be_visible()
    expect(page.locator("h1", has_text="推进会").first).to_be_visible()
    expect(page.get_by_role("button", name="上一页")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("退出演示"))).to_have_count(0)
    assert "present=true" not in page.url
    assert page.evaluate("() => document.fullscreenElement === null")


def test_present_mode_fills_the_screen_and_esc_or_the_button_leave_it(
        app_server, page, open_app, data_dir):
    page.set_viewport_size(SCREEN)
    base = app_server(data_dir)
    open_app(page, base, "presentation", timeout_ms=180_000)
    enter(page)
    assert page.evaluate("() => document.fullscreenElement !== null"), "no browser full screen"
    assert "present=true" in page.url
    assert_presenting(page)
    shot(page, "present-mode-slide-01")
    page.keyboard.press("ArrowRight")
    wait_for_streamlit(page)
    page.keyboard.press("ArrowRight")
    wait_for_streamlit(page)
    page.wait_for_timeout(800)
    assert slide_no(page) == 3
    assert_presenting(page)  # a slide with a chart fits too
    shot(page, "present-mode-slide-03")

    page.keyboard.press("Escape")
    wait_for_streamlit(page)
    assert_normal(page)
    assert slide_no(page) == 3  # leaving keeps the slide

    enter(page)
    assert_presenting(page)
    page.get_by_role("button", name=re.compile("退出演示")).click()
    wait_for_streamlit(page)
    assert_normal(page)
