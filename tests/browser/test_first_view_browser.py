"""What a new user meets first, in Chromium: the dashboard opens on the newest month the
extracts cover (not on a pairing's future start), the same month the command line defaults to;
a stale link (unknown unit, a month outside the data, a garbage period) says what it asked for
and what is shown instead."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page

from tests import march_city as M
from tests.browser.test_dashboard import PYTHON, REPO, kpis


@pytest.fixture(scope="module")
def march(tmp_path_factory) -> Path:
    return M.build(tmp_path_factory.mktemp("march"))


def _period(page: Page) -> str:
    return page.locator('.st-key-period [role="combobox"]').input_value()


def _query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def _notices(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(
        '[data-testid="stMain"] [data-testid="stAlertContentWarning"]').all_inner_texts()]


def test_opens_on_the_newest_extract_month_like_the_cli(app_server, page, open_app, screenshot,
                                                        march):
    out = subprocess.run([PYTHON, "-m", "metrics", "report", "issues", "--level", "city",
                          "--data-dir", str(march)], cwd=REPO, capture_output=True, text=True,
                         check=True, timeout=120)
    cli = json.loads(out.stdout)
    assert cli["to"] == M.LAST_MONTH

    base = app_server(march)
    open_app(page, base, "issues")
    assert _period(page) == cli["to"]
    assert _query(page)["period"] == [M.LAST_MONTH]
    cards = kpis(page)
    assert cards["受理量"] == str(cli["rows"][0]["reported"]) == "3"
    assert cards["办结率"] != "—"
    # The month list ends with the extracts: no 2026-04 to pick.
    page.locator('.st-key-period [role="combobox"]').click()
    options = page.locator('[role="option"]').all_inner_texts()
    page.keyboard.press("Escape")
    assert options[0].strip() == M.LAST_MONTH and M.FUTURE_MONTH not in [o.strip() for o in options]
    screenshot(page, "first-view-issues-march")


@pytest.mark.parametrize("path, asked", [
    ("issues?period=2027-01", "2027年1月"),
    ("issues?period=garbage", "“garbage”无法识别"),
    ("coverage?unit=990199", "“990199”在区划表中不存在"),
])
def test_stale_link_says_what_was_asked_and_what_is_shown(app_server, page, open_app,
                                                          screenshot, march, path, asked):
    base = app_server(march)
    open_app(page, base, path)
    notices = _notices(page)
    assert len(notices) == 1 and asked in notices[0], notices
    shown = "现显示全市" if "unit=" in path else "现显示 2026年3月"
    assert shown in notices[0]
    assert _period(page) == M.LAST_MONTH
    q = _query(page)
    assert q["period"] == [M.LAST_MONTH] and "unit" not in q
    screenshot(page, f"stale-link-{path.replace('?', '-')}")
