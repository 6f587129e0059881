"""Logins in a real browser (serve.py, as ``make run``): a login survives a reload through its
signed, HttpOnly, SameSite=Strict cookie; logout clears it; 数据上传 by URL asks to log in; with
GRIDBOARD_REQUIRE_LOGIN=1 a logged-out visitor sees no number on any page URL."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from metrics.sessions import COOKIE_NAME
from tests import upload_helpers as H
from tests.browser.conftest import wait_for_streamlit

PAGES = ("", "coverage", "issues", "pairing", "grids", "upload", "presentation")
# Anything drawn from the data: cards, charts, tables, downloads, the SQL box.
DATA_ELEMENTS = ('[data-testid="stMetric"]', '[data-testid="stPlotlyChart"]',
                 '[data-testid="stDataFrame"]', '[data-testid="stTable"]',
                 '[data-testid="stDownloadButton"]', '[data-testid="stCode"]',
                 '[data-testid="stExpander"]', '[data-testid="stSidebarNav"]')
# A number as a page shows data: a rate, a thousands-separated count, a decimal.
NUMBER_RE = re.compile(r"\d+(\.\d+)?%|\d{1,3}(,\d{3})+|\d+\.\d+")


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("login-city") / "data"
    H.make_sample(root, accounts={"ana": ("analyst", None), "kan": ("viewer", None)})
    return root


@pytest.fixture
def data_dir(city, tmp_path) -> Path:
    return H.copy_store(city, tmp_path / "data")


def sidebar(page: Page):
    return page.locator('[data-testid="stSidebar"]')


def main(page: Page):
    return page.locator('[data-testid="stMain"]')


def session_cookies(page: Page) -> list[dict]:
    return [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]


def wait_for_cookie(page: Page, present: bool, timeout_s: float = 10) -> list[dict]:
    """The hand-off script posts right after the run that drew it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = session_cookies(page)
        if bool(found) == present:
            return found
        page.wait_for_timeout(100)
    raise AssertionError(f"session cookie {'never set' if present else 'not cleared'}: "
                         f"{page.context.cookies()}")


def sidebar_log_in(page: Page, name: str) -> None:
    side = sidebar(page)
    side.locator('[data-testid="stExpander"]').filter(has_text="登录").locator("summary").click()
    side.get_by_label("用户名").fill(name)
    side.get_by_label("密码").fill(H.PASSWORD)
    side.get_by_role("button", name="登录").click()
    wait_for_streamlit(page)
    expect(side.get_by_text(f"当前用户：{name}")).to_be_visible()


def reload(page: Page) -> None:
    page.reload(wait_until="domcontentloaded")
    wait_for_streamlit(page)


def test_login_survives_a_reload_and_logout_clears_it(app_server, page: Page, open_app,
                                                      screenshot, data_dir):
    base = app_server(data_dir, env={"GRIDBOARD_REQUIRE_LOGIN": None})
    # 数据上传 by URL while logged out: 请先登录 with the form, not 总览.
    open_app(page, base, "upload")
    expect(main(page).get_by_role("heading", name="请先登录")).to_be_visible()
    expect(main(page).get_by_label("用户名")).to_be_visible()
    expect(main(page).get_by_role("heading", name="总览")).to_have_count(0)
    screenshot(page, "login-upload-by-url")

    open_app(page, base)
    sidebar_log_in(page, "ana")
    (cookie,) = wait_for_cookie(page, True)
    screenshot(page, "login-logged-in")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert 11.5 * 3600 < cookie["expires"] - time.time() <= 12 * 3600  # session_hours = 12
    assert page.evaluate("document.cookie").find(COOKIE_NAME) == -1  # HttpOnly: not for scripts

    reload(page)
    expect(sidebar(page).get_by_text("当前用户：ana")).to_be_visible()
    # Another page by URL in a new tab of the same browser: still logged in.
    tab = page.context.new_page()
    open_app(tab, base, "upload")
    expect(main(tab).get_by_role("heading", name="数据上传")).to_be_visible()
    tab.close()

    sidebar(page).get_by_role("button", name="退出登录").click()
    wait_for_streamlit(page)
    expect(sidebar(page).get_by_text("当前用户：ana")).to_have_count(0)
    wait_for_cookie(page, False)
    reload(page)
    expect(sidebar(page).get_by_text("当前用户：ana")).to_have_count(0)
    expect(sidebar(page).locator('[data-testid="stExpander"]').filter(has_text="登录")).to_be_visible()
    screenshot(page, "login-after-logout-reload")


def test_a_copied_cookie_stops_working_after_logout(app_server, page: Page, open_app, data_dir):
    base = app_server(data_dir, env={"GRIDBOARD_REQUIRE_LOGIN": None})
    open_app(page, base)
    sidebar_log_in(page, "kan")
    (cookie,) = wait_for_cookie(page, True)
    sidebar(page).get_by_role("button", name="退出登录").click()
    wait_for_streamlit(page)
    wait_for_cookie(page, False)
    page.context.add_cookies([cookie])  # kept from before the logout
    reload(page)
    expect(sidebar(page).get_by_text("当前用户：kan")).to_have_count(0)


def test_require_login_shows_no_number_on_any_page(app_server, page: Page, open_app,
                                                   screenshot, data_dir):
    base = app_server(data_dir, env={"GRIDBOARD_REQUIRE_LOGIN": "1"})
    district = H.districts(data_dir)[0]
    urls = [*PAGES, f"issues?unit={district}&pm=单月&period=2026-01",
            "presentation?unit=" + district, "?sql=1&unit=" + district]
    for path in urls:
        open_app(page, base, path)
        expect(main(page).get_by_role("heading", name="请先登录")).to_be_visible()
        for sel in DATA_ELEMENTS:
            expect(page.locator(sel)).to_have_count(0)
        text = page.locator('[data-testid="stApp"]').inner_text()
        assert not NUMBER_RE.search(text), (path, text)
        assert page.get_by_text("Page not found").count() == 0, path
    screenshot(page, "login-required")

    # The login form on that page lets the viewer in; a reload keeps them in.
    form = main(page)
    form.get_by_label("用户名").fill("kan")
    form.get_by_label("密码").fill(H.PASSWORD)
    form.get_by_role("button", name="登录").click()
    wait_for_streamlit(page)
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible()
    wait_for_cookie(page, True)
    reload(page)
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible()
    expect(sidebar(page).get_by_text("当前用户：kan")).to_be_visible()
