"""The dashboard on a phone (390×844): the sidebar starts collapsed, the KPI cards stand two per
line with no blank slot between them, and the drill-down hint is on the page in words (a touch
screen has no hover to show the chart tooltip's hint)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from metrics.datadir import write_sample
from metrics.store.versions import Store

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("phone")
    write_sample(Store(path), seed=7, scale=0.05)
    return path


def card_boxes(page: Page) -> list[dict]:
    cards = page.locator('[data-testid="stMain"] [data-testid="stMetric"]')
    assert cards.count() >= 4
    return [cards.nth(i).bounding_box() for i in range(cards.count())]


def assert_two_per_row(boxes: list[dict]) -> None:
    rows: list[list[dict]] = []
    for box in sorted(boxes, key=lambda b: (round(b["y"]), b["x"])):
        if rows and abs(rows[-1][0]["y"] - box["y"]) < 2:
            rows[-1].append(box)
        else:
            rows.append([box])
    for row in rows[:-1]:
        assert len(row) == 2, f"a full row of cards has two cards, not {len(row)}: {row}"
    assert len(rows[-1]) in (1, 2)
    for row in rows:
        for box in row:
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
            assert box["width"] >= 0.4 * PHONE["width"] / 2, "a card is not squeezed"
        if len(row) == 2:
            left, right = row
            assert left["x"] + left["width"] <= right["x"], "the two cards do not overlap"
    # No blank gap: the next row of cards starts right below the previous one (the gap is
    # the target line under a card, never a whole empty card slot).
    for upper, lower in zip(rows, rows[1:], strict=False):
        bottom = max(b["y"] + b["height"] for b in upper)
        assert lower[0]["y"] - bottom < 0.6 * upper[0]["height"], (upper, lower)


def assert_sidebar_collapsed(page: Page) -> None:
    side = page.locator('[data-testid="stSidebar"]')
    box = side.bounding_box() if side.count() else None
    assert box is None or box["x"] + box["width"] <= 1 or not side.is_visible(), \
        f"the sidebar covers the page on a phone: {box}"
    expect(page.locator('[data-testid="stExpandSidebarButton"], '
                        '[data-testid="stSidebarCollapsedControl"]').first).to_be_visible()


@pytest.mark.parametrize("path,hint", [("", "点击柱条查看该单位的下一级"),
                                       ("issues", "点击柱条查看该单位的下一级")])
def test_phone_shows_two_cards_per_row_collapsed_sidebar_and_the_hint(
        app_server, page, open_app, screenshot, data_dir, path, hint):
    page.set_viewport_size(PHONE)
    base = app_server(data_dir)
    open_app(page, base, path, timeout_ms=180_000)
    page.wait_for_timeout(500)
    assert_sidebar_collapsed(page)
    screenshot(page, f"phone-{path or 'overview'}")
    assert_two_per_row(card_boxes(page))
    text = page.locator('[data-testid="stMain"]').get_by_text(hint).first
    text.scroll_into_view_if_needed()
    expect(text).to_be_visible()
    box = text.bounding_box()
    assert box is not None and box["width"] > 0 and box["x"] + box["width"] <= PHONE["width"]
    # Opening the sidebar still works on a phone.
    page.locator('[data-testid="stExpandSidebarButton"], '
                 '[data-testid="stSidebarCollapsedControl"]').first.click()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("统计月份")).to_be_visible()
