"""Smoke test of the browser harness: the app starts, renders Chinese in the served
CJK web font, and the browser never leaves this machine."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

FONT_FAMILY = "noto-sans-sc"  # [[theme.fontFaces]] family in .streamlit/config.toml
FONT_FILES = ("NotoSansSC-Regular.woff2", "NotoSansSC-Bold.woff2")
REPO = Path(__file__).resolve().parents[2]


def test_static_font_files_are_committed() -> None:
    for name in FONT_FILES:
        path = REPO / "static" / "fonts" / name
        assert path.stat().st_size > 500_000, f"{path} missing or too small"
        assert path.read_bytes()[:4] == b"wOF2", f"{path} is not WOFF2"
    assert "SIL OPEN FONT LICENSE" in (REPO / "static" / "fonts" / "OFL.txt").read_text()


def test_app_renders_chinese_with_served_font(
    app_server, page: Page, open_app, screenshot, tmp_path: Path
) -> None:
    base_url = app_server(tmp_path / "data")

    open_app(page, base_url)

    expect(page).to_have_title(re.compile("网格治理看板"))
    # The first heading/text in the main area that contains Chinese (the placeholder
    # app's st.title("总览"); the real app's overview or login page).
    text = (
        page.locator('[data-testid="stMain"]')
        .locator("h1, h2, h3, p, label")
        .filter(has_text=re.compile(r"[\u4e00-\u9fff]"))
        .first
    )
    expect(text).to_be_visible()
    text.evaluate("e => e.setAttribute('data-font-probe', '1')")
    sample = text.inner_text().strip()

    # The theme's font face is requested from the app itself and loaded.
    font_requests = [u for u in page.requests_seen if "/app/static/fonts/" in u]
    assert any(u.endswith(FONT_FILES[0]) for u in font_requests), page.requests_seen
    assert all(u.startswith(base_url) for u in font_requests)
    page.evaluate("document.fonts.ready.then(() => true)")
    faces = page.evaluate(
        """(family) => [...document.fonts]
              .filter(f => f.family.replace(/["']/g, '') === family)
              .map(f => ({weight: String(f.weight), status: f.status}))""",
        FONT_FAMILY,
    )
    assert {"weight": "400", "status": "loaded"} in faces, faces
    assert page.evaluate(
        "([fam, text]) => document.fonts.check(`16px ${fam}`, text)", [FONT_FAMILY, sample]
    )
    assert FONT_FAMILY in text.evaluate("e => getComputedStyle(e).fontFamily")

    # Chromium's own account of which font drew the glyphs: the web font
    # (isCustomFont), not a system font that happens to be installed.
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")

    def glyphs_by_font(selector: str) -> tuple[int, int, list]:
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        web = sum(
            f["glyphCount"]
            for f in fonts
            if f["isCustomFont"] and f["familyName"] == "Noto Sans CJK SC"
        )
        return web, sum(f["glyphCount"] for f in fonts), fonts

    # The app's own text: drawn (mostly) by the web font; a rare character outside
    # the subset may fall back to a system font.
    web, total, fonts = glyphs_by_font("[data-font-probe]")
    assert web > 0 and web >= total / 2, (sample, fonts)
    # A probe in the app's font stack with common characters: all from the web font.
    page.evaluate(
        """(fam) => { const d = document.createElement('div');
            d.id = 'font-probe-common'; d.style.fontFamily = fam;
            d.textContent = '网格治理看板，总览：党建引领（2024年）“两个覆盖”ABC123';
            document.querySelector('[data-testid="stMain"]').append(d); }""",
        text.evaluate("e => getComputedStyle(e).fontFamily"),
    )
    web, total, fonts = glyphs_by_font("#font-probe-common")
    assert total > 0 and web == total, fonts
    page.evaluate("document.getElementById('font-probe-common').remove()")

    shot = screenshot(page, "harness-smoke-overview")
    assert shot.stat().st_size > 5_000

    # Nothing left this machine (the page fixture re-checks this at teardown).
    hosts = {urlsplit(u).hostname for u in page.requests_seen if "://" in u}
    assert hosts == {"127.0.0.1"}, hosts
    assert any(u.startswith("ws://127.0.0.1") for u in page.requests_seen), page.requests_seen
