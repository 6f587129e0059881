"""The 推进会 deck (and a page's summary) as PDF, drawn offline from the same ``Deck`` model as
the PPTX, with the Chinese font embedded.

Why fpdf2: it is pure Python (no browser, no LibreOffice, nothing to install on the server),
embeds only the glyphs used (a deck is ~100 KB), and reads the OpenType font the dashboard
already ships (``static/fonts``; the WOFF2 is unpacked once to a cache file). Characters outside
that subset fall back to the system's Noto Sans CJK where it is installed. Printing the page in
Chromium would need a browser on the server; converting the PPTX would need LibreOffice.

Charts are drawn with the PPTX's colours and rules (``metrics.exports.pptx``), so a bar is the
same colour on screen, in the PPTX and here; the legend says what the colours mean.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from metrics import colours as C
from metrics.exports import pptx as P
from metrics.exports.bulletin import fmt_rate, fmt_value
from metrics.exports.slides import KPI, ChartSpec, Deck, Slide, TableSpec, doughnut_legend
from metrics.supervision import LIGHT_COLORS, YELLOW

FONT_DIR = Path(__file__).resolve().parents[2] / "static" / "fonts"
SYSTEM_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SYSTEM_CJK_SC_INDEX = 2  # Noto Sans CJK SC inside the collection (JP, KR, SC, TC, HK)
W, H = P.SLIDE_W, P.SLIDE_H
M = P.MARGIN
CW = P.CONTENT_W


def _rgb(c) -> tuple[int, int, int]:
    s = str(c)
    return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16)


def _otf(weight: str) -> Path:
    """The shipped WOFF2 subset unpacked to OpenType, cached by content (fpdf2 reads files)."""
    src = FONT_DIR / f"NotoSansSC-{weight}.woff2"
    data = src.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / "gridboard-fonts"
    out = cache / f"NotoSansSC-{weight}-{digest}.otf"
    if not out.exists():
        from fontTools.ttLib import TTFont

        cache.mkdir(parents=True, exist_ok=True)
        font = TTFont(io.BytesIO(data))
        font.flavor = None
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        font.save(str(tmp))
        tmp.replace(out)  # atomic: a concurrent export never reads half a font
    return out


class _Doc(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="L", unit="in", format=(H, W))
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        self.add_font("cjk", "", str(_otf("Regular")))
        self.add_font("cjk", "B", str(_otf("Bold")))
        fallbacks = []
        if SYSTEM_CJK.exists():
            self.add_font("cjkfull", "", str(SYSTEM_CJK), collection_font_number=SYSTEM_CJK_SC_INDEX)
            fallbacks.append("cjkfull")
        if fallbacks:
            self.set_fallback_fonts(fallbacks, exact_match=False)

    # text helpers (sizes in points, positions in inches)
    def text_box(self, x, y, w, h, text: str, size: float, *, bold=False, color=P.DARK,
                 align="L", valign="T", line=1.3) -> float:
        """Wrapped text inside the box; returns the height used."""
        self.set_font("cjk", "B" if bold else "", size)
        self.set_text_color(*_rgb(color))
        lh = size * line / 72
        lines = self.multi_cell(w, lh, text, dry_run=True, output="LINES",
                                wrapmode=WrapMode.CHAR)
        used = lh * len(lines)
        top = y if valign == "T" else y + max(0.0, (h - used) / 2)
        self.set_xy(x, top)
        self.multi_cell(w, lh, text, align=align, wrapmode=WrapMode.CHAR,
                        new_x=XPos.LEFT, new_y=YPos.NEXT, max_line_height=lh)
        return used

    def fit(self, text: str, w: float, h: float, sizes=(20, 18, 16, 15, 14, 13, 12, 11, 10)
            ) -> float:
        for s in sizes:
            self.set_font("cjk", "", s)
            n = len(self.multi_cell(w, s * 1.3 / 72, text, dry_run=True, output="LINES",
                                    wrapmode=WrapMode.CHAR))
            if n * s * 1.3 / 72 <= h:
                return s
        return sizes[-1]

    def fill_rect(self, x, y, w, h, color, *, border=None, round_=False) -> None:
        self.set_fill_color(*_rgb(color))
        if border is not None:
            self.set_draw_color(*_rgb(border))
            self.set_line_width(1 / 72)
        style = "DF" if border is not None else "F"
        if round_:
            self.rect(x, y, w, h, style=style, round_corners=True, corner_radius=0.08)
        else:
            self.rect(x, y, w, h, style=style)


# --- frame, cards, tables -------------------------------------------------------------------------


def _frame(pdf: _Doc, deck: Deck, s: Slide, page: int, total: int) -> None:
    if s.kind != "title":
        pdf.fill_rect(0, 0, W, 0.12, P.RED)
        pdf.text_box(M, 0.3, CW, 0.7, s.title, 28, bold=True)
        if s.subtitle:
            pdf.text_box(M, 0.98, CW, 0.5, s.subtitle, 15, color=P.GREY)
    pdf.set_draw_color(*_rgb(P.BORDER))
    pdf.set_line_width(1 / 72)
    pdf.line(M, H - 0.45, W - M, H - 0.45)
    pdf.text_box(M, H - 0.4, CW * 0.8, 0.3, deck.footer(s), 11, color=P.GREY)
    pdf.text_box(W - M - 1.5, H - 0.4, 1.5, 0.3, f"{page} / {total}", 11, color=P.GREY,
                 align="R")
    if deck.is_demo:
        pdf.text_box(W - M - 1.6, 0.3, 1.6, 0.4, "示例数据", 14, bold=True, color=P.BAD,
                     align="R")


def _kpi(pdf: _Doc, k: KPI, x, y, w, h) -> None:
    pdf.fill_rect(x, y, w, h, P.LIGHT, border=P.BORDER, round_=True)
    color = P.DARK if k.target_met is None else P.GOOD if k.target_met else P.BAD
    cy = y + 0.15
    cy += pdf.text_box(x + 0.18, cy, w - 0.36, 0.4, k.label, 18, bold=True, color=P.GREY)
    cy += pdf.text_box(x + 0.18, cy + 0.02, w - 0.36, 0.7, k.display, 36, bold=True, color=color)
    cy += pdf.text_box(x + 0.18, cy + 0.04, w - 0.36, 0.5, k.change_display, 14) + 0.04
    if k.target is not None:
        cy += pdf.text_box(x + 0.18, cy, w - 0.36, 0.3, f"年度目标 {fmt_value(k.target, k.kind)}", 14)
        cy += pdf.text_box(x + 0.18, cy, w - 0.36, 0.3, k.target_state, 14, bold=True, color=color)
    if k.time_elapsed is not None:
        pdf.text_box(x + 0.18, cy, w - 0.36, 0.3, f"时间进度 {fmt_rate(k.time_elapsed)}", 14,
                     color=P.GREY)


def _table(pdf: _Doc, spec: TableSpec, x, y, w, max_h, *, empty_text="暂无") -> None:
    if not spec.rows:
        pdf.text_box(x, y, w, 0.5, empty_text, 16, color=P.GREY)
        return
    widths = spec.widths or [1.0] * len(spec.columns)
    total = sum(widths)
    cols = [w * c / total for c in widths]
    rows = [spec.columns] + spec.rows
    size = 14 if len(rows) <= 7 else 12
    rh = min(0.5, max_h / len(rows))
    for i, row in enumerate(rows):
        cx = x
        fill = P.RED if i == 0 else (P.LIGHT if i % 2 == 0 else P.WHITE)
        lights = spec.cell_marks[i - 1] if 0 < i <= len(spec.cell_marks) else []
        for j, (cw, text) in enumerate(zip(cols, row)):
            light = lights[j] if j < len(lights) else None
            cell_fill = LIGHT_COLORS[light].lstrip("#") if light else fill
            color = P.WHITE if i == 0 or (light and light != YELLOW) else P.DARK
            pdf.fill_rect(cx, y + i * rh, cw, rh, cell_fill, border=P.BORDER)
            pdf.text_box(cx + 0.06, y + i * rh, cw - 0.12, rh, str(text), size,
                         bold=i == 0 or light is not None, color=color, valign="M",
                         align="C" if light else "L")
            cx += cw


# --- charts ---------------------------------------------------------------------------------------


def _fmt(v: float | None, number_format: str) -> str:
    if v is None:
        return "—"
    if number_format.endswith("%"):
        return fmt_rate(v)
    return f"{v:.1f}" if "." in number_format else f"{v:.0f}"


def _grid(pdf, x, y, w, h, axis: tuple[float, float, float], rate: bool) -> None:
    """Gridlines and tick labels of ``ChartSpec.axis`` (the scale of the PPTX and the screen)."""
    lo, hi, step = axis
    pdf.set_draw_color(*_rgb(P.BORDER))
    pdf.set_line_width(0.5 / 72)
    n = max(1, round((hi - lo) / step))
    for i in range(n + 1):
        v = lo + step * i
        gy = y + h - h * (v - lo) / (hi - lo)
        pdf.line(x, gy, x + w, gy)
        pdf.text_box(x - 0.75, gy - 0.1, 0.7, 0.2, f"{v * 100:.0f}%" if rate else f"{v:g}", 10,
                     color=P.GREY, align="R")


def _bar(pdf: _Doc, spec: ChartSpec, x, y, w, h) -> None:
    values = next(iter(spec.series.values()))
    rate = spec.number_format.endswith("%")
    targets = spec.target_values()
    axis = spec.axis()
    vmax = axis[1]
    legend_h = 0.65  # the legend row, then room for the labels of the tallest bars
    px, py, pw, ph = x + 0.8, y + legend_h, w - 0.9, h - legend_h - 0.75
    _grid(pdf, px, py, pw, ph, axis, rate)
    n = max(len(spec.categories), 1)
    slot = pw / n
    bw = slot * (0.55 if n <= 6 else 0.7)
    label = 14 if n <= 12 else 11 if n <= 20 else 9
    for i, (cat, v) in enumerate(zip(spec.categories, values)):
        cx = px + slot * i + (slot - bw) / 2
        cls = spec.colours[i] if i < len(spec.colours) else None
        color = P.CLASS_COLOR[cls] if cls is not None else P.BAR
        if v is not None:
            bh = ph * max(0.0, min(v, vmax)) / vmax
            pdf.fill_rect(cx, py + ph - bh, bw, bh, color)
            mark = P.MARK_WORD.get(spec.marks[i] if i < len(spec.marks) else None)
            text = f"{mark} {_fmt(v, spec.number_format)}" if mark else _fmt(v, spec.number_format)
            pdf.text_box(cx - 0.5, py + ph - bh - 0.27, bw + 1.0, 0.25, text,
                         label, bold=True, align="C")
        pdf.text_box(px + slot * i, py + ph + 0.05, slot, 0.7, cat, max(9, min(14, label)),
                     align="C")
        if targets and targets[i] is not None:
            ty = py + ph - ph * min(targets[i], vmax) / vmax
            pdf.set_draw_color(*_rgb(P.TARGET))
            pdf.set_line_width(2.5 / 72)
            pdf.line(cx - 0.05, ty, cx + bw + 0.05, ty)
    # legend: what the colours mean (metrics.colours), from what is drawn
    drawn = {spec.colours[i] for i, v in enumerate(values)
             if v is not None and i < len(spec.colours)}
    items = [(P.CLASS_COLOR[c], C.MEANINGS[c]) for c in C.CLASSES if c in drawn]
    if targets and any(t is not None for t in targets):
        items.append((P.TARGET, spec.target_label))
    _legend(pdf, items, px, y)


def _legend(pdf: _Doc, items, x, y) -> None:
    pdf.set_font("cjk", "", 12)
    for color, text in items:
        pdf.fill_rect(x, y + 0.08, 0.22, 0.16, color)
        pdf.text_box(x + 0.28, y + 0.02, 2.5, 0.3, text, 12)
        x += 0.28 + pdf.get_string_width(text) + 0.3


def _line(pdf: _Doc, spec: ChartSpec, x, y, w, h) -> None:
    values = next(iter(spec.series.values()))
    rate = spec.number_format.endswith("%")
    targets = spec.target_values()
    axis = spec.axis()
    vmax = axis[1]
    px, py, pw, ph = x + 0.8, y + 0.65, w - 0.9, h - 1.2
    _grid(pdf, px, py, pw, ph, axis, rate)
    n = max(len(spec.categories), 1)
    slot = pw / n

    def pt(i, v):
        return px + slot * (i + 0.5), py + ph - ph * min(v, vmax) / vmax

    if targets:
        pdf.set_draw_color(*_rgb(P.TARGET))
        pdf.set_line_width(2 / 72)
        pdf.set_dash_pattern(dash=0.08, gap=0.06)
        for i in range(n - 1):
            if targets[i] is not None and targets[i + 1] is not None:
                pdf.line(*pt(i, targets[i]), *pt(i + 1, targets[i + 1]))
        pdf.set_dash_pattern()
    pdf.set_draw_color(*_rgb(P.TREND))
    pdf.set_line_width(3 / 72)
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    for (i0, v0), (i1, v1) in zip(pts, pts[1:]):
        pdf.line(*pt(i0, v0), *pt(i1, v1))
    pdf.set_fill_color(*_rgb(P.TREND))
    for i, v in pts:
        cx, cy = pt(i, v)
        pdf.circle(x=cx, y=cy, radius=0.05, style="F")
        pdf.text_box(cx - 0.5, cy - 0.32, 1.0, 0.25, _fmt(v, spec.number_format), 11, bold=True,
                     align="C")
    for i, cat in enumerate(spec.categories):
        pdf.text_box(px + slot * i, py + ph + 0.05, slot, 0.3, cat, 10, align="C")
    items = [(P.TREND, next(iter(spec.series)))]
    if targets and any(t is not None for t in targets):
        items.append((P.TARGET, spec.target_label))
    _legend(pdf, items, px, y - 0.05)


def _doughnut(pdf: _Doc, spec: ChartSpec, x, y, w, h, domain: str | None) -> None:
    values = [v or 0.0 for v in next(iter(spec.series.values()))]
    total = sum(values)
    colors = P.DOUGHNUT.get(domain or "", ("2F5597", "8FAADC", "D03B31"))
    pdf.text_box(x, y, w, 0.4, spec.title, 15, bold=True, align="C")
    r = min(w, h - 1.6) / 2 * 0.9
    cx, cy = x + w / 2, y + 0.45 + r
    if total > 0:
        start = -90.0
        for v, c in zip(values, colors):
            if v <= 0:
                continue
            end = start + 360.0 * v / total
            pdf.set_fill_color(*_rgb(c))
            # Angles grow clockwise on the page (y points down); fpdf2's ``clockwise=True``
            # sweeps the other way, from start round to end — the segment's complement, so a
            # ring came out as the last colour over the others. Pieces of at most 90° keep every
            # sweep unambiguous.
            a = start
            while a < end - 1e-9:
                b = min(end, a + 90.0)
                pdf.solid_arc(cx - r, cy - r, 2 * r, a, b, inclination=0, clockwise=False,
                              style="F")
                a = b
            start = end
        pdf.set_fill_color(255, 255, 255)
        pdf.circle(x=cx, y=cy, radius=r * 0.55, style="F")
        pdf.text_box(cx - r * 0.5, cy - 0.2, r, 0.4, f"{total:,.0f}", 18, bold=True, align="C")
    else:
        pdf.text_box(x, cy - 0.2, w, 0.4, "暂无", 16, color=P.GREY, align="C")
    # Labels as a legend below the ring: never clipped, never on top of each other.
    ly = cy + r + 0.2
    for (cat, v, share), c in zip(doughnut_legend(spec), colors):
        pdf.fill_rect(x + 0.2, ly + 0.06, 0.2, 0.16, c)
        pdf.text_box(x + 0.5, ly, w - 0.6, 0.3, f"{cat}　{v:,.0f}（{share}）", 13)
        ly += 0.32


def _chart(pdf: _Doc, spec: ChartSpec, x, y, w, h, domain: str | None) -> None:
    {"bar": _bar, "line": _line}.get(spec.kind, lambda *a: None)(pdf, spec, x, y, w, h)
    if spec.kind == "doughnut":
        _doughnut(pdf, spec, x, y, w, h, domain)


# --- slides ---------------------------------------------------------------------------------------


def _title(pdf: _Doc, deck: Deck, s: Slide) -> None:
    pdf.fill_rect(0, 1.7, W, 2.3, P.RED)
    pdf.text_box(M, 1.85, CW, 1.2, s.title, 40, bold=True, color=P.WHITE, align="C", valign="M")
    pdf.text_box(M, 3.0, CW, 0.8, s.bullets[0] if s.bullets else s.subtitle, 26,
                 color=P.WHITE, align="C", valign="M")
    pdf.text_box(M, 4.4, CW, 2.4, "\n".join(s.bullets[1:]), 20, align="C")


def _overview(pdf: _Doc, deck: Deck, s: Slide) -> None:
    cols, gap = 4, 0.25
    w = (CW - gap * (cols - 1)) / cols
    h = 2.45
    for i, k in enumerate(s.kpis):
        r, c = divmod(i, cols)
        _kpi(pdf, k, M + c * (w + gap), 1.65 + r * (h + 0.2), w, h)


def _text_bottom(pdf: _Doc, text: str, max_h: float) -> float:
    if not text:
        return 0.0
    size = pdf.fit(text, CW, max_h, sizes=(17, 16, 15, 14, 13, 12))
    pdf.set_font("cjk", "", size)
    n = len(pdf.multi_cell(CW, size * 1.3 / 72, text, dry_run=True, output="LINES",
                           wrapmode=WrapMode.CHAR))
    used = min(max_h, n * size * 1.3 / 72)
    pdf.text_box(M, H - 0.55 - used, CW, used, text, size)
    return used


def _chart_slide(pdf: _Doc, deck: Deck, s: Slide) -> None:
    used = _text_bottom(pdf, s.text, 1.5)
    top = 1.55
    _chart(pdf, s.chart, M, top, CW, H - 0.7 - used - top, s.domain)


def _problems(pdf: _Doc, deck: Deck, s: Slide) -> None:
    used = _text_bottom(pdf, s.text, 1.05)
    top, bottom = 1.6, H - 0.7 - used
    left_w = 7.9
    if s.table is not None:
        _table(pdf, s.table, M, top, left_w, bottom - top)
    if s.chart2 is not None:
        _doughnut(pdf, s.chart2, M + left_w + 0.3, top, CW - left_w - 0.3, bottom - top, s.domain)


def _lights(pdf: _Doc, deck: Deck, s: Slide) -> None:
    """The table of lights, then the summary and the rule right below it (as in the PPTX)."""
    top, bottom = 1.6, H - 0.6
    y = top
    if s.table is not None:
        max_h = bottom - top - 1.3
        _table(pdf, s.table, M, top, CW, max_h)
        y += min(0.5, max_h / (len(s.table.rows) + 1)) * (len(s.table.rows) + 1) + 0.3
    if s.text:
        size = pdf.fit(s.text, CW, bottom - y, sizes=(18, 17, 16, 15, 14, 13, 12))
        pdf.text_box(M, y, CW, bottom - y, s.text, size)


def _closing(pdf: _Doc, deck: Deck, s: Slide) -> None:
    y = 1.7
    text = "\n".join(s.bullets)
    size = pdf.fit(text, CW - 0.4, 4.8, sizes=(22, 20, 18, 17, 16, 15, 14))
    for i, b in enumerate(s.bullets):
        head, _, rest = b.partition("：")
        line = f"{i + 1}. {head}：{rest}" if rest else f"{i + 1}. {head}"
        y += pdf.text_box(M, y, CW, 5.0, line, size) + 0.15


DRAW = {"title": _title, "overview": _overview, "lights": _lights, "ranking": _chart_slide,
        "trend": _chart_slide,
        "problems": _problems, "closing": _closing}


def deck_to_pdf(deck: Deck, *, slides: list[Slide] | None = None) -> bytes:
    """The deck (or the given slides of it) as a 16:9 PDF, one slide a page."""
    pdf = _Doc()
    pdf.set_title(f"{deck.title}({deck.unit_name} {deck.period})")
    pdf.set_author("网格治理看板")
    pdf.set_creation_date(deck.as_of)
    chosen = slides if slides is not None else deck.slides
    for page, s in enumerate(chosen, start=1):
        pdf.add_page()
        _frame(pdf, deck, s, page, len(chosen))
        DRAW[s.kind](pdf, deck, s)
    return bytes(pdf.output())


def page_summary(deck: Deck, page: str) -> list[Slide]:
    """The slides that summarise one dashboard page: 总览 = title, 主要指标 and 下一步工作; a
    domain page = that domain's ranking, trend and 问题清单."""
    if page == "overview":
        return [s for s in deck.slides if s.kind in ("title", "overview", "lights", "closing")]
    return [s for s in deck.slides if s.domain == page]
