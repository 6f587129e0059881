"""The dashboard pages in a real Chromium: KPI cards against the CLI, drill-down by clicking a
ranking bar and a 明细 row, breadcrumbs, the view in the URL surviving a reload, screenshots.

Expected numbers come from ``python -m metrics report … --format json`` on the same data dir.
The ``page`` fixture fails any test whose browser asked a host other than this machine.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page

from metrics.datadir import write_sample
from metrics.definitions import METRICS
from metrics.selection import month_index, month_str
from metrics.store.versions import Store

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() \
    else sys.executable
LABEL_TO_KEY = {m.label: k for k, m in METRICS.items()}
CARD_DOMAINS = ("coverage", "issues", "pairing", "grids", "tasks")
PAGES = {"": "总览", "coverage": "两个覆盖", "issues": "问题解决", "pairing": "结对联建"}


# --- data and CLI ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dash")
    write_sample(Store(path), seed=7, scale=0.05)
    return path


def cli(data_dir: Path, domain: str, level: str, *args: str) -> dict:
    out = subprocess.run(
        [PYTHON, "-m", "metrics", "report", domain, "--level", level, "--data-dir", str(data_dir),
         "--format", "json", *args],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


def cli_row(data_dir: Path, domain: str, unit: str | None = None, *args: str) -> dict:
    if unit is None:
        return cli(data_dir, domain, "city", *args)["rows"][0]
    level = {6: "district", 9: "street", 12: "community"}[len(unit)]
    rows = cli(data_dir, domain, level, "--filter", f"unit={unit}", *args)["rows"]
    (row,) = [r for r in rows if r["unit_code"] == unit]
    return row


def shown(key: str, value) -> str:
    """docs/contract/metrics.md's display form (rates 1 decimal + %, null —), written out independently."""
    if value is None:
        return "—"
    kind = METRICS[key].kind
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind in ("hours", "score"):
        return f"{value:.1f}"
    return f"{int(value):,}"


def card_rows(data_dir: Path, unit: str | None = None) -> dict[str, dict]:
    """Every card domain's CLI row of ``unit`` for the month the dashboard opens on: the task
    ledger's own default month is that of its newest completion, so it is asked for that month."""
    latest = cli(data_dir, "issues", "city")["to"]
    return {d: cli_row(data_dir, d, unit, *(("--period", latest) if d == "tasks" else ()))
            for d in CARD_DOMAINS}


def expected(cards: dict[str, str], rows: dict[str, dict]) -> dict[str, str]:
    out = {}
    for label in cards:
        key = LABEL_TO_KEY[label]
        out[label] = shown(key, rows[METRICS[key].domain][key])
    return out


# --- reading and driving the page -----------------------------------------------------------


def kpis(page: Page) -> dict[str, str]:
    out = {}
    for card in page.locator('[data-testid="stMetric"]').all():
        label = card.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        assert label not in out, f"two cards labelled {label}"
        out[label] = card.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def crumbs(page: Page) -> list[str]:
    return [b.inner_text().strip() for b in
            page.locator('[data-testid="stMain"] [class*="st-key-crumb_"] button').all()]


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def title(page: Page) -> str:
    return page.locator('[data-testid="stMain"] h1').first.inner_text().strip()


def bar_names(page: Page, chart_key: str) -> list[str]:
    chart = page.locator(f".st-key-{chart_key} .plotly")
    return chart.locator(".yaxislayer-above .ytick text").evaluate_all(
        "els => els.map(e => e.textContent)")


def click_bar(page: Page, chart_key: str, name: str, wait_for_streamlit) -> None:
    """Click the ranking bar of ``name`` the way a user does: the mouse on the bar's middle
    (plotly's drag layer takes the click and selects the point under it)."""
    chart = page.locator(f".st-key-{chart_key}")
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    point = chart.locator(".plotly").first.evaluate(
        """(root, name) => {
            const ticks = [...root.querySelectorAll('.yaxislayer-above .ytick text')];
            const tick = ticks.find(t => t.textContent === name);
            if (!tick) return null;
            const ty = tick.getBoundingClientRect(); const y = ty.top + ty.height / 2;
            let best = null;
            for (const p of root.querySelectorAll('.barlayer .point path')) {
                const r = p.getBoundingClientRect(); const c = r.top + r.height / 2;
                if (!best || Math.abs(c - y) < best.d) best = {d: Math.abs(c - y), r};
            }
            return best && {x: best.r.left + best.r.width / 2, y: best.r.top + best.r.height / 2,
                            w: best.r.width};
        }""", name)
    assert point is not None, f"no bar labelled {name}: {bar_names(page, chart_key)}"
    assert point["w"] > 2, f"the bar of {name} is too short to click"
    page.mouse.click(point["x"], point["y"])
    wait_for_streamlit(page)


def click_table_row(page: Page, table_key: str, row: int, wait_for_streamlit) -> None:
    """Select row ``row`` of a st.dataframe (glide data grid, drawn on a canvas) by clicking
    its row-marker checkbox: header and rows are 35 px high, the marker column ~30 px wide."""
    grid = page.locator(f'.st-key-{table_key} [data-testid="stDataFrame"]')
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 16, box["y"] + 35 + 35 * row + 17)
    wait_for_streamlit(page)


def open_tab(page: Page, label: str, wait_for_streamlit) -> None:
    """Click a tab of the detail area (its content is drawn only once open)."""
    tab = page.get_by_role("tab", name=label)
    tab.scroll_into_view_if_needed()
    tab.click()
    wait_for_streamlit(page)
    assert tab.get_attribute("aria-selected") == "true"


def choose(page: Page, key: str, option: str, wait_for_streamlit) -> None:
    page.locator(f'.st-key-{key} [role="combobox"]').click()
    page.locator('[role="option"]').filter(has_text=option).first.click()
    wait_for_streamlit(page)
    page.keyboard.press("Escape")  # a multiselect keeps its list open


# --- tests ----------------------------------------------------------------------------------


def test_pages_show_the_cli_numbers(app_server, page, open_app, screenshot, data_dir):
    base = app_server(data_dir)
    city = card_rows(data_dir)
    latest = cli(data_dir, "issues", "city")["to"]
    for path, name in PAGES.items():
        open_app(page, base, path)
        assert title(page) == name
        cards = kpis(page)
        # 总览 carries every domain's headline cards, a domain page its own eight
        assert len(cards) == (12 if not path else 8) and set(cards) <= set(LABEL_TO_KEY), cards
        if path:  # a domain page shows its own domain's numbers
            assert {METRICS[LABEL_TO_KEY[c]].domain for c in cards} == {path}
        assert cards == expected(cards, city), path or "/"
        assert crumbs(page) == ["全市"]
        assert page.locator('.st-key-period [role="combobox"]').input_value() == latest
        screenshot(page, f"dashboard-{path or 'overview'}")
    nav = [a.inner_text().split()[-1]  # the text after the icon's ligature name
           for a in page.locator('[data-testid="stSidebarNavLink"]').all()]
    assert nav[:4] == list(PAGES.values()) and "推进会" in nav


def test_drill_from_city_to_community_by_clicking(app_server, page, open_app, screenshot,
                                                  wait_for_streamlit, data_dir):
    base = app_server(data_dir)
    open_app(page, base, "coverage")
    districts = cli(data_dir, "coverage", "district")["rows"]
    district = districts[0]
    assert sorted(bar_names(page, "rank_coverage")) == sorted(r["unit_name"] for r in districts)

    # city → district: a ranking bar
    click_bar(page, "rank_coverage", district["unit_name"], wait_for_streamlit)
    assert query(page)["unit"] == [district["unit_code"]]
    assert crumbs(page) == ["全市", "› " + district["unit_name"]]
    cards = kpis(page)
    assert cards == expected(cards, {"coverage": district})

    # district → street: a ranking bar
    streets = cli(data_dir, "coverage", "street", "--filter", f"unit={district['unit_code']}")
    street = streets["rows"][-1]
    assert sorted(bar_names(page, "rank_coverage")) == sorted(
        r["unit_name"] for r in streets["rows"])
    click_bar(page, "rank_coverage", street["unit_name"], wait_for_streamlit)
    assert query(page)["unit"] == [street["unit_code"]]
    assert crumbs(page) == ["全市", "› " + district["unit_name"], "› " + street["unit_name"]]
    cards = kpis(page)
    assert cards == expected(cards, {"coverage": street})

    # street → community: a ranking bar again
    communities = cli(data_dir, "coverage", "community", "--filter",
                      f"unit={street['unit_code']}")["rows"]
    community = next(r for r in communities if r["org_coverage_rate"])
    click_bar(page, "rank_coverage", community["unit_name"], wait_for_streamlit)
    path = ["全市", "› " + district["unit_name"], "› " + street["unit_name"],
            "› " + community["unit_name"]]
    assert query(page)["unit"] == [community["unit_code"]]
    assert crumbs(page) == path
    cards = kpis(page)
    assert cards == expected(cards, {"coverage": community})
    assert page.get_by_text("已是最细层级").count() == 1
    screenshot(page, "dashboard-coverage-community")

    # a reload opens the same view
    url = page.url
    page.reload()
    wait_for_streamlit(page)
    assert page.url == url
    assert crumbs(page) == path
    assert kpis(page) == cards

    # back up to the street by its breadcrumb, then down through a 明细 row
    page.locator(".st-key-crumb_2 button").click()
    wait_for_streamlit(page)
    assert query(page)["unit"] == [street["unit_code"]]
    assert kpis(page) == expected(cards, {"coverage": street})
    row = 0 if communities[0]["unit_code"] != community["unit_code"] else len(communities) - 1
    open_tab(page, "明细", wait_for_streamlit)
    assert query(page)["coverage_detail"] == ["明细"]
    click_table_row(page, "table_coverage", row, wait_for_streamlit)
    assert query(page)["unit"] == [communities[row]["unit_code"]]
    assert crumbs(page)[-1] == "› " + communities[row]["unit_name"]
    assert kpis(page) == expected(cards, {"coverage": communities[row]})

    # and all the way back to the city
    page.locator(".st-key-crumb_0 button").click()
    wait_for_streamlit(page)
    assert "unit" not in query(page)
    assert crumbs(page) == ["全市"]
    assert kpis(page) == expected(cards, {"coverage": cli_row(data_dir, "coverage")})


def test_overview_bar_drills_down(app_server, page, open_app, wait_for_streamlit, data_dir):
    base = app_server(data_dir)
    open_app(page, base, "")
    districts = cli(data_dir, "coverage", "district")["rows"]
    target = districts[-1]
    click_bar(page, "rank_overview", target["unit_name"], wait_for_streamlit)
    assert query(page)["unit"] == [target["unit_code"]]
    assert title(page) == "总览"
    assert crumbs(page) == ["全市", "› " + target["unit_name"]]
    rows = card_rows(data_dir, target["unit_code"])
    cards = kpis(page)
    assert cards == expected(cards, rows)
    # the chart now ranks that district's streets
    streets = cli(data_dir, "coverage", "street", "--filter", f"unit={target['unit_code']}")
    assert sorted(bar_names(page, "rank_overview")) == sorted(
        r["unit_name"] for r in streets["rows"])


def test_filters_live_in_the_url(app_server, page, open_app, screenshot, wait_for_streamlit,
                                 data_dir):
    base = app_server(data_dir)
    open_app(page, base, "issues")
    latest = cli(data_dir, "issues", "city")["to"]
    period = month_str(month_index(latest) - 1)
    district = cli(data_dir, "issues", "district")["rows"][0]

    choose(page, "period", period, wait_for_streamlit)
    assert query(page)["period"] == [period]
    choose(page, "source", "12345热线", wait_for_streamlit)
    choose(page, "source", "群众来访", wait_for_streamlit)
    assert query(page)["source"] == ["12345热线", "群众来访"]
    choose(page, "district", district["unit_name"], wait_for_streamlit)
    assert query(page)["unit"] == [district["unit_code"]]

    row = cli_row(data_dir, "issues", district["unit_code"], "--period", period,
                  "--filter", "source=12345热线", "--filter", "source=群众来访")
    cards = kpis(page)
    assert cards == expected(cards, {"issues": row})
    screenshot(page, "dashboard-issues-filtered")

    url = page.url
    page.reload()
    wait_for_streamlit(page)
    assert page.url == url
    assert kpis(page) == cards
    assert crumbs(page) == ["全市", "› " + district["unit_name"]]

    # the same link in a fresh tab (a new session) opens the same view
    other = page.context.new_page()
    other.goto(url)
    wait_for_streamlit(other)
    assert kpis(other) == cards
    assert other.locator('.st-key-period [role="combobox"]').input_value() == period
    other.close()


def test_default_period_is_in_the_url(app_server, page, open_app, data_dir):
    base = app_server(data_dir)
    open_app(page, base, "issues")
    assert "period" in query(page) or "from" in query(page), page.url


CLIPPED_BAR_LABELS = """() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')]
  .flatMap(plot => {
    const svg = plot.querySelector('svg.main-svg').getBoundingClientRect();
    return [...plot.querySelectorAll('.barlayer .point text')]
      .map(t => [t.textContent, t.getBoundingClientRect()])
      .filter(([, r]) => r.right > svg.right + 0.5 || r.left < svg.left - 0.5)
      .map(([text, r]) => `${text} overflows by ${Math.round(Math.max(r.right - svg.right,
                                                                        svg.left - r.left))} px`);
  })"""


@pytest.fixture(scope="module")
def hand_dir(tmp_path_factory) -> Path:
    from metrics.settings import Settings
    from metrics.store.ingest import ingest_frames
    from tests.test_pages import hand_frames

    path = tmp_path_factory.mktemp("hand")
    ingest_frames(Store(path), hand_frames(), user="t", settings=Settings())
    return path


def test_bar_labels_are_not_clipped(app_server, page, open_app, screenshot, hand_dir):
    # In the hand city 商务楼宇 and 社会组织 have an organisation coverage of 100.0%.
    base = app_server(hand_dir)
    open_app(page, base, "coverage")
    screenshot(page, "dashboard-coverage-hand-city")
    assert page.evaluate(CLIPPED_BAR_LABELS) == []


DUPLICATE_TICKS = """() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')]
  .flatMap(plot => ['.xaxislayer-above .xtick text', '.yaxislayer-above .ytick text']
    .map(sel => [...plot.querySelectorAll(sel)].map(t => t.textContent))
    .filter(ticks => new Set(ticks).size !== ticks.length)
    .map(ticks => ticks.join(' ')))"""


def test_axis_tick_labels_are_distinct(app_server, page, open_app, screenshot, hand_dir):
    base = app_server(hand_dir)
    open_app(page, base, "coverage?coverage_rank=应建未建数")
    assert page.locator('.st-key-coverage_rank [role="combobox"]').input_value() == "应建未建数"
    screenshot(page, "dashboard-coverage-hand-gap-ranking")
    assert page.evaluate(DUPLICATE_TICKS) == []


def test_follow_up_list_filters_and_downloads(app_server, page, open_app, screenshot,
                                              wait_for_streamlit, data_dir):
    """A leader's 督办 list: open 超期未办结工单, narrow it by a keyword, take it away as CSV."""
    base = app_server(data_dir)
    open_app(page, base, "issues")
    expected_n = cli_row(data_dir, "issues")["open_overdue"]
    assert expected_n > 1, "the demo city should have overdue orders to chase"
    open_tab(page, "超期未办结工单", wait_for_streamlit)
    assert query(page)["issues_detail"] == ["超期未办结工单"]
    count = page.get_by_text(re.compile(r"^共 [\d,]+ 条"))
    assert count.inner_text().startswith(f"共 {expected_n:,} 条")
    screenshot(page, "dashboard-issues-overdue-list")

    with page.expect_download() as info:
        page.get_by_role("button", name="下载 CSV").click()
    full = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(full) == expected_n
    wanted = full[0]["工单编号"]

    box = page.locator(".st-key-find_overdue_orders input")
    box.fill(wanted)
    box.press("Enter")
    wait_for_streamlit(page)
    assert count.inner_text().startswith("共 1 条")
    with page.expect_download() as info:
        page.get_by_role("button", name="下载 CSV").click()
    [only] = list(csv.DictReader(io.StringIO(
        Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert only == full[0]
