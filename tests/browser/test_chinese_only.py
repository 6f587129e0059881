"""No English in sight: every page (as a visitor, an analyst and an admin, with the file
uploader and the admin pages), a link to a page that does not exist or needs a login, and the
first start while the demo city is being made. Words of Latin letters fail the test unless allowed below (file
formats, units, SQL…); icon names, text hidden from view and literals set as code (a file name,
a command, a key a file must contain, word for word) do not count."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import upload_helpers as H
from tests.browser.conftest import REPO, wait_for_streamlit

ALLOWED = {
    "SQL", "PPTX", "PPT", "XLSX", "XLS", "XLSM", "CSV", "TXT", "PDF", "DOCX", "Parquet", "PARQUET",
    "Excel", "GeoJSON", "JSON", "UTF", "GBK", "BOM", "MB", "KB", "GB", "ID", "Esc", "YYYY", "MM",
    "OIDC", "SMTP", "DuckDB", "Spark",
}
WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
USERS = {"ana": ("analyst", None), "adm": ("admin", None)}
# The pages of the 管理 section (admins only).
ADMIN_PAGES = ("系统设置", "账户与权限", "地图边界", "定时报告", "操作日志")

VISIBLE_TEXT = """(sel) => {
  const root = document.querySelector(sel) || document.body;
  const out = [];
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim()) continue;
    if (el.closest('script, style, code, [data-testid="stIconMaterial"], [translate="no"]')) continue;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || parseFloat(getComputedStyle(el).fontSize) < 2) continue;
    out.push(node.textContent);
  }
  // What a form field shows is its value or placeholder, not a text node.
  for (const field of root.querySelectorAll(
      'input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]), textarea')) {
    if (!field.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    const r = field.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;
    out.push(field.value || field.placeholder || '');
  }
  return out.join('\\n');
}"""


def english(page: Page, where: str = "body", *, allow: set[str] = frozenset()) -> list[str]:
    text = page.evaluate(VISIBLE_TEXT, where)
    return sorted({w for w in WORD.findall(text) if w not in ALLOWED and w not in allow})


def assert_chinese(page: Page, what: str, **kw) -> None:
    words = english(page, **kw)
    assert not words, f"English on {what}: {words}"


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    return H.make_sample(tmp_path_factory.mktemp("zh") / "data", accounts=USERS)


def log_in(page: Page, name: str) -> None:
    side = page.locator('[data-testid="stSidebar"]')
    side.locator('[data-testid="stExpander"]').filter(has_text="登录").locator("summary").click()
    side.get_by_label("用户名").fill(name)
    side.get_by_label("密码").fill(H.PASSWORD)
    side.get_by_role("button", name="登录").click()
    wait_for_streamlit(page)


def go(page: Page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    wait_for_streamlit(page)
    page.wait_for_timeout(300)


def test_every_page_and_the_uploader_are_chinese(app_server, page, open_app, screenshot, city):
    base = app_server(city)
    for path in ("", "coverage", "issues", "pairing", "grids", "presentation"):
        open_app(page, base, path, timeout_ms=180_000)
        assert_chinese(page, f"/{path}")
    for user in USERS:
        open_app(page, base)
        log_in(page, user)
        go(page, "数据上传")
        uploader = page.locator('[data-testid="stFileUploaderDropzone"]').first
        expect(uploader).to_be_visible()
        assert_chinese(page, f"数据上传 as {user}", allow={user})
        # The replaced texts are there (CSS content) and the English ones are not shown.
        shown = uploader.evaluate("""e => [...e.querySelectorAll('*')].map(x =>
            getComputedStyle(x, '::after').content).filter(c => c && c !== 'none').join(' ')""")
        assert "选择文件" in shown and "拖到这里" in shown, shown
        screenshot(page, f"zh-upload-{user}")
        # Dragging a file over the box: its overlay text is Chinese too.
        data = page.evaluate_handle("""() => { const d = new DataTransfer();
            d.items.add(new File(['x'], '台账.csv', {type: 'text/csv'})); return d; }""")
        uploader.dispatch_event("dragenter", {"dataTransfer": data})
        page.wait_for_timeout(300)
        assert_chinese(page, f"the drop overlay as {user}", allow={user})
        uploader.dispatch_event("dragleave", {"dataTransfer": data})
        nav = page.locator('[data-testid="stSidebarNav"]')
        if user == "adm":
            for title in ADMIN_PAGES:
                go(page, title)
                expect(page.locator("h1", has_text=title).first).to_be_visible()
                assert_chinese(page, f"{title} as {user}", allow={user})
                screenshot(page, f"zh-admin-{title}")
        else:
            for title in ADMIN_PAGES:
                expect(nav.get_by_text(title, exact=True)).to_have_count(0)
        page.context.clear_cookies()


@pytest.mark.parametrize("path,notice", [
    ("no-such-page", "找不到页面“no-such-page”"),
    ("upload", "请先登录"),
    ("settings", "请先登录"),
])
def test_a_bad_link_says_so_in_chinese(app_server, page, open_app, city, path, notice):
    base = app_server(city)
    open_app(page, base)  # the server's first run is in Streamlit's folder routing
    open_app(page, base, path)
    page.wait_for_timeout(500)
    expect(page.locator('[data-testid="stMain"]').get_by_text(re.compile(notice))).to_be_visible()
    assert_chinese(page, f"/{path}", allow=set(WORD.findall(path)))  # the notice quotes it
    assert not page.get_by_role("dialog").count()


def test_a_bad_link_as_the_very_first_request_is_chinese(app_server, page, open_app, city):
    base = app_server(city)
    open_app(page, base, "no-such-page", timeout_ms=180_000)
    page.wait_for_timeout(800)
    assert_chinese(page, "the first request to a bad link", allow={"no", "such", "page"})


def test_first_start_shows_no_file_names_while_the_demo_city_is_made(
        app_server, page, screenshot, tmp_path):
    shim = Path(__file__).with_name("first_run_shim")
    default = tmp_path / "default-store"
    base = app_server(tmp_path / "unused", env={
        "GRIDBOARD_DATA_DIR": None,
        "GRIDBOARD_TEST_DEFAULT_DIR": str(default),
        "GRIDBOARD_TEST_DEMO_DELAY": "6",
        "PYTHONPATH": os.pathsep.join([str(shim), str(REPO)]),
    })
    page.goto(base + "/coverage", wait_until="domcontentloaded")
    spinner = page.get_by_text("正在生成示例数据")
    expect(spinner).to_be_visible(timeout=60_000)
    screenshot(page, "zh-first-start")
    seen = 0
    deadline = time.monotonic() + 120
    while spinner.count() and time.monotonic() < deadline:
        assert_chinese(page, "the first start")
        nav = page.locator('[data-testid="stSidebarNav"]')
        assert not nav.count() or not nav.is_visible(), "the page list shows while waiting"
        seen += 1
        page.wait_for_timeout(400)
    assert seen >= 3, "the wait was watched"
    wait_for_streamlit(page, timeout_ms=120_000)
    expect(page.locator("h1", has_text="两个覆盖").first).to_be_visible()
    expect(page.locator('[data-testid="stSidebarNav"]').get_by_text("总览")).to_be_visible()
    assert_chinese(page, "the first page after the first start")
    assert (default / "index.json").exists() or any(default.iterdir())


def test_typing_hints_and_an_empty_search_are_chinese(app_server, page, open_app, city):
    base = app_server(city)
    open_app(page, base, "presentation", timeout_ms=180_000)
    title = page.get_by_label("会议名称")
    title.click()
    title.press("End")
    title.type("年")
    hint = page.locator('[data-testid="InputInstructions"]').first
    expect(hint).to_be_visible()
    assert "按回车键确认" in hint.evaluate(
        "e => getComputedStyle(e.firstElementChild, '::after').content")
    assert_chinese(page, "a text field being edited")
    title.press("Escape")
    box = page.locator('[data-testid="stSidebar"]').get_by_label("区县")
    box.click()
    box.fill("zzz")
    listbox = page.locator('[role="listbox"][data-empty="true"]')
    expect(listbox).to_be_visible()
    assert "没有匹配的选项" in listbox.locator("span").first.evaluate(
        "e => getComputedStyle(e, '::after').content")
    assert_chinese(page, "a search with no match", allow={"zzz"})
