"""The 推进会 deck as a PowerPoint file (python-pptx), editable in PowerPoint and WPS.

* 16:9 (13.333 × 7.5 in), one blank layout, every shape placed here; large type (titles 30 pt,
  body ≥ 14 pt, KPI values 36 pt).
* Native charts only (graphic frames with an embedded workbook, so 编辑数据 works): clustered
  columns for rankings, lines for trends, doughnuts for shares; data labels on. A ranking bar
  takes the colour of its ``metrics.colours`` class by point formatting (green target met, red
  missed, grey no target: the screen's rule), a legend line above the chart names the classes
  drawn, and a 红榜/黑榜 unit's label says so in words.
* The target on a ranking is a **line series in the same chart** (a combo chart: the target
  series is moved from ``c:barChart`` into a ``c:lineChart`` on the same axes). It is real chart
  data: it scales with the axis, shows in the legend and is edited with the bars; a drawn
  connector would drift when someone resizes the chart. The target is per unit (a district may
  have its own), so the line steps where a unit's target differs.
* The Chinese font is set on every run: python-pptx writes only ``a:latin``, so ``a:ea`` and
  ``a:cs`` (typeface "Microsoft YaHei") are added to each run's ``a:rPr`` — and to every
  ``a:defRPr`` of chart text — with lxml; the theme's major/minor East Asian font is set too so
  text typed later matches. Viewers without YaHei substitute their own CJK font.
* "示例数据" on every slide when the data is the demo city; a footer with the data's cut-off
  (数据截止, no version strings: the audience is a meeting) and the page number on every slide.
* Value axes follow ``ChartSpec.axis`` (rates 0–100%, bars from 0), the rule the screen uses.
* Doughnuts carry no labels on the slices: a legend beside the ring gives each category's count
  and share, so a thin slice never hides or overlaps a label.
"""

from __future__ import annotations

import io
import math
import unicodedata

from lxml import etree
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION, XL_MARKER_STYLE
from pptx.enum.dml import MSO_LINE_DASH_STYLE
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from metrics import colours as C
from metrics.exports.bulletin import fmt_rate, fmt_value
from metrics.exports.slides import KPI, ChartSpec, Deck, Slide, TableSpec, doughnut_legend
from metrics.supervision import LIGHT_COLORS, YELLOW

FONT = "Microsoft YaHei"
SLIDE_W, SLIDE_H = 13.333, 7.5
MARGIN = 0.5
CONTENT_W = SLIDE_W - 2 * MARGIN

RED = RGBColor(0xC0, 0x00, 0x00)  # 党建 red: title accents
DARK = RGBColor(0x26, 0x26, 0x26)
GREY = RGBColor(0x59, 0x59, 0x59)
LIGHT = RGBColor(0xF4, 0xF5, 0xF7)
BORDER = RGBColor(0xD0, 0xD4, 0xDA)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
BAR = RGBColor(0x5B, 0x7D, 0xB1)  # ordinary bars
GOOD = RGBColor(0x2E, 0x8B, 0x57)  # 红榜 (green) / target met
BAD = RGBColor(0xD0, 0x3B, 0x31)  # 黑榜 (red) / below target
TARGET = RGBColor(0xE0, 0x8A, 0x00)  # the target line (amber: not confused with 黑榜 red)
TREND = RGBColor(0x2F, 0x55, 0x97)
MARK_COLOR = {"red": GOOD, "black": BAD}
MARK_WORD = {"red": "红榜", "black": "黑榜"}
CLASS_COLOR = {c: RGBColor.from_string(C.rgb_hex(c)) for c in C.CLASSES}
DOUGHNUT = {
    "coverage": ("2F5597", "8FAADC", "D03B31"),
    "issues": ("2E8B57", "D03B31", "F4B183"),
    "pairing": ("2E8B57", "D03B31", "BFBFBF"),
    "tasks": ("2E8B57", "D03B31", "F4B183", "BFBFBF"),  # 已完成 逾期 临期 其他未到期
}

_RPR_TAIL = {qn("a:sym"), qn("a:hlinkClick"), qn("a:hlinkMouseOver"), qn("a:rtl"),
             qn("a:extLst")}


# --- fonts -----------------------------------------------------------------------------------------


def set_typefaces(rpr: etree._Element, typeface: str = FONT) -> None:
    """Give a run-properties element (a:rPr, a:defRPr, a:endParaRPr) latin, ea and cs typefaces,
    in schema order (after fills and underline, before sym/hyperlinks/extLst)."""
    for tag in ("a:latin", "a:ea", "a:cs"):
        for el in rpr.findall(qn(tag)):
            rpr.remove(el)
    anchor = next((c for c in rpr if c.tag in _RPR_TAIL), None)
    for tag in ("a:latin", "a:ea", "a:cs"):
        el = etree.Element(qn(tag))
        el.set("typeface", typeface)
        if anchor is None:
            rpr.append(el)
        else:
            anchor.addprevious(el)


def apply_fonts(root: etree._Element, typeface: str = FONT) -> None:
    """Every run (and field, and end-of-paragraph mark) under ``root`` gets the typefaces."""
    for r in list(root.iter(qn("a:r"))) + list(root.iter(qn("a:fld"))):
        rpr = r.find(qn("a:rPr"))
        if rpr is None:
            rpr = etree.Element(qn("a:rPr"))
            rpr.set("lang", "zh-CN")
            r.insert(0, rpr)
        rpr.set("lang", "zh-CN")
        rpr.set("altLang", "en-US")
        set_typefaces(rpr, typeface)
    for el in list(root.iter(qn("a:endParaRPr"))) + list(root.iter(qn("a:defRPr"))):
        set_typefaces(el, typeface)


def _chart_fonts(chart, size: float = 14) -> None:
    chart.font.size = Pt(size)  # creates the chart-wide c:txPr
    chart.font.name = FONT
    apply_fonts(chart._chartSpace)


def _theme_fonts(prs: Presentation) -> None:
    theme = prs.slide_master.part.part_related_by(RT.THEME)
    root = etree.fromstring(theme.blob)
    for which in ("a:majorFont", "a:minorFont"):
        for font in root.iter(qn(which)):
            for tag in ("a:latin", "a:ea"):
                el = font.find(qn(tag))
                if el is not None:
                    el.set("typeface", FONT)
    theme._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# --- text -----------------------------------------------------------------------------------------


def _text_width(text: str, size: float) -> float:
    """Approximate rendered width in inches (CJK full width, Latin/digits about half)."""
    w = 0.0
    for ch in text:
        wide = unicodedata.east_asian_width(ch) in "WF"
        w += 1.0 if wide else 0.55
    return w * size / 72.0


def fit_size(text: str, width: float, height: float, sizes=(20, 18, 16, 15, 14, 13, 12)) -> float:
    """The largest size whose wrapped lines fit the box (line height 1.3 × size)."""
    for s in sizes:
        lines = sum(max(1, math.ceil(_text_width(p, s) / (width - 0.2))) for p in
                    text.split("\n"))
        if lines * s * 1.3 / 72.0 <= height - 0.1:
            return s
    return sizes[-1]


def _box(slide, x: float, y: float, w: float, h: float):
    tb = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
    tf = tb.text_frame
    tf.word_wrap = True
    for side in ("margin_left", "margin_right"):
        setattr(tf, side, Inches(0.08))
    tf.margin_top = tf.margin_bottom = Inches(0.04)
    return tb


def _para(tf, text: str, size: float, *, bold: bool = False, color: RGBColor = DARK,
          align=PP_ALIGN.LEFT, first: bool = False, space_after: float = 0):
    p = tf.paragraphs[0] if first else tf.add_paragraph()
    p.alignment = align
    if space_after:
        p.space_after = Pt(space_after)
    r = p.add_run()
    r.text = text
    r.font.size = Pt(size)
    r.font.bold = bold
    r.font.color.rgb = color
    return p


def _text(slide, x, y, w, h, text: str, size: float, *, bold=False, color=DARK,
          align=PP_ALIGN.LEFT, anchor=MSO_ANCHOR.TOP, space_after: float = 0):
    tb = _box(slide, x, y, w, h)
    tf = tb.text_frame
    tf.vertical_anchor = anchor
    for i, line in enumerate(text.split("\n")):
        _para(tf, line, size, bold=bold, color=color, align=align, first=i == 0,
              space_after=space_after)
    return tb


# --- frame ----------------------------------------------------------------------------------------


def _frame(slide, deck: Deck, s: Slide, page: int, total: int) -> None:
    """Title, subtitle, demo label, footer and page number."""
    if s.kind != "title":
        bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(MARGIN), Inches(0.38),
                                     Inches(0.12), Inches(0.62))
        bar.fill.solid()
        bar.fill.fore_color.rgb = RED
        bar.line.fill.background()
        _text(slide, MARGIN + 0.22, 0.28, CONTENT_W - 2.2, 0.8, s.title, 30, bold=True,
              anchor=MSO_ANCHOR.MIDDLE)
        if s.subtitle:
            _text(slide, MARGIN + 0.22, 1.05, CONTENT_W - 0.22, 0.45, s.subtitle, 15, color=GREY)
        line = slide.shapes.add_connector(1, Inches(MARGIN), Inches(1.52),
                                          Inches(SLIDE_W - MARGIN), Inches(1.52))
        line.line.color.rgb = BORDER
        line.line.width = Pt(1)
    if deck.is_demo:
        tag = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, Inches(SLIDE_W - MARGIN - 1.6),
                                     Inches(0.36), Inches(1.6), Inches(0.5))
        tag.fill.solid()
        tag.fill.fore_color.rgb = WHITE
        tag.line.color.rgb = BAD
        tag.line.width = Pt(2)
        tf = tag.text_frame
        tf.margin_top = tf.margin_bottom = 0
        tf.vertical_anchor = MSO_ANCHOR.MIDDLE
        _para(tf, "示例数据", 16, bold=True, color=BAD, align=PP_ALIGN.CENTER, first=True)
        tag.name = "示例数据"
    foot = _text(slide, MARGIN, SLIDE_H - 0.45, CONTENT_W - 1.2, 0.35, deck.footer(s), 11,
                 color=GREY, anchor=MSO_ANCHOR.MIDDLE)
    foot.name = "页脚"
    _text(slide, SLIDE_W - MARGIN - 1.2, SLIDE_H - 0.45, 1.2, 0.35, f"{page} / {total}", 11,
          color=GREY, align=PP_ALIGN.RIGHT, anchor=MSO_ANCHOR.MIDDLE)


# --- charts -------------------------------------------------------------------------------------


def _chart_data(spec: ChartSpec, with_target: bool) -> CategoryChartData:
    cd = CategoryChartData(number_format=spec.number_format)
    cd.categories = spec.categories
    for name, values in spec.series.items():
        cd.add_series(name, [None if v is None else float(v) for v in values], spec.number_format)
    if with_target:
        cd.add_series(spec.target_label, spec.target_values(), spec.number_format)
    return cd


def _axis_fonts(chart, cat_size: float, val_size: float = 13) -> None:
    chart.category_axis.tick_labels.font.size = Pt(cat_size)
    chart.value_axis.tick_labels.font.size = Pt(val_size)
    chart.value_axis.has_major_gridlines = True
    chart.value_axis.major_gridlines.format.line.color.rgb = RGBColor(0xE3, 0xE3, 0xE3)
    chart.value_axis.format.line.fill.background()


def _target_to_line(chart, *, markers_only: bool = False) -> None:
    """Move the last series of the bar plot into a line plot on the same axes (a combo
    chart): the target drawn over the bars, still chart data. One target for every unit: a
    dashed line. Targets that differ by unit: a short dash marker on each bar and no connecting
    line (a line zig-zagging between units would read as a trend)."""
    plot_area = chart._chartSpace.find(qn("c:chart")).find(qn("c:plotArea"))
    bar = plot_area.find(qn("c:barChart"))
    ser = bar.findall(qn("c:ser"))[-1]
    bar.remove(ser)
    for el in ser.findall(qn("c:invertIfNegative")):
        ser.remove(el)
    color = str(TARGET)
    ns = ('xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
          'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"')
    fill = f'<a:solidFill><a:srgbClr val="{color}"/></a:solidFill>'
    if markers_only:
        sp = etree.fromstring(f'<c:spPr {ns}><a:ln w="31750"><a:noFill/></a:ln></c:spPr>')
        marker = etree.fromstring(
            f'<c:marker {ns}><c:symbol val="dash"/><c:size val="40"/>'
            f'<c:spPr>{fill}<a:ln w="9525">{fill}</a:ln></c:spPr></c:marker>')
    else:
        sp = etree.fromstring(
            f'<c:spPr {ns}><a:ln w="31750" cap="flat">{fill}<a:prstDash val="dash"/>'
            f'<a:miter lim="800000"/></a:ln></c:spPr>')
        marker = etree.fromstring(f'<c:marker {ns}><c:symbol val="none"/></c:marker>')
    tx = ser.find(qn("c:tx"))
    tx.addnext(sp)
    sp.addnext(marker)
    smooth = etree.SubElement(ser, qn("c:smooth"))
    smooth.set("val", "0")
    line = etree.Element(qn("c:lineChart"))
    etree.SubElement(line, qn("c:grouping")).set("val", "standard")
    etree.SubElement(line, qn("c:varyColors")).set("val", "0")
    line.append(ser)
    etree.SubElement(line, qn("c:marker")).set("val", "1")
    for ax in bar.findall(qn("c:axId")):
        etree.SubElement(line, qn("c:axId")).set("val", ax.get("val"))
    bar.addnext(line)


def _value_axis(spec: ChartSpec, chart) -> None:
    """The deck's one scale rule (``ChartSpec.axis``: rates 0–100%, others from 0), written
    into the chart so PowerPoint does not pick its own (an automatic axis starts wherever it
    likes and makes a 2-point difference look like a cliff)."""
    lo, hi, step = spec.axis()
    va = chart.value_axis
    va.minimum_scale = lo
    va.maximum_scale = hi
    va.major_unit = step
    if spec.number_format.endswith("%"):
        va.tick_labels.number_format = "0%"
        va.tick_labels.number_format_is_linked = False


def _plot_room(chart, *, top: float = 0.16) -> None:
    """A manual inner plot area leaving ``top`` (fraction of the chart's height) above the
    axis maximum: the legend and the label of a bar or point at 100% sit there instead of on
    each other (the axis stops at 100%; PowerPoint's automatic layout leaves no room)."""
    plot_area = chart._chartSpace.find(qn("c:chart")).find(qn("c:plotArea"))
    for old in plot_area.findall(qn("c:layout")):
        plot_area.remove(old)
    layout = etree.fromstring(
        '<c:layout xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        '<c:manualLayout><c:layoutTarget val="inner"/><c:xMode val="edge"/><c:yMode val="edge"/>'
        f'<c:x val="0.07"/><c:y val="{top}"/><c:w val="0.91"/><c:h val="{0.86 - top:.2f}"/>'
        '</c:manualLayout></c:layout>')
    plot_area.insert(0, layout)


def _bar_chart(slide, spec: ChartSpec, x, y, w, h):
    has_target = spec.target is not None
    gf = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(x), Inches(y), Inches(w),
                                Inches(h), _chart_data(spec, has_target))
    chart = gf.chart
    if has_target:
        distinct = {t for t in spec.target_values() if t is not None}
        _target_to_line(chart, markers_only=len(distinct) > 1)
    plot = chart.plots[0]
    n = len(spec.categories)
    plot.gap_width = 150 if n <= 3 else 80 if n <= 6 else 60 if n <= 12 else 35
    n = len(spec.categories)
    label_size = 14 if n <= 12 else 12 if n <= 20 else 10
    series = plot.series[0]
    series.format.fill.solid()
    series.format.fill.fore_color.rgb = BAR
    series.invert_if_negative = False
    for i, cls in enumerate(spec.colours):
        if cls is not None:
            pf = series.points[i].format
            pf.fill.solid()
            pf.fill.fore_color.rgb = CLASS_COLOR[cls]
    plot.has_data_labels = True
    dl = plot.data_labels
    dl.number_format = spec.number_format
    dl.number_format_is_linked = False
    dl.position = XL_LABEL_POSITION.OUTSIDE_END
    dl.show_value = True
    dl.font.size = Pt(label_size)
    dl.font.bold = True
    _label_backgrounds(dl)
    _mark_labels(series, spec, label_size)
    longest = max((len(c) for c in spec.categories), default=1)
    per = w * 0.9 / max(n, 1)
    cat_size = max(10, min(16, int(per * 72 / max(longest, 1) * 0.95)))
    _axis_fonts(chart, cat_size)
    _value_axis(spec, chart)
    _plot_room(chart)
    chart.has_title = False
    chart.has_legend = has_target
    if has_target:
        chart.legend.position = XL_LEGEND_POSITION.TOP
        chart.legend.include_in_layout = False
        chart.legend.font.size = Pt(13)
        _hide_legend_entry(chart, 0)  # one swatch cannot say the bars' colours: the line above does
    _chart_fonts(chart)
    return gf


def _hide_legend_entry(chart, idx: int) -> None:
    legend = chart.legend._element
    entry = etree.SubElement(legend, qn("c:legendEntry"))
    etree.SubElement(entry, qn("c:idx")).set("val", str(idx))
    etree.SubElement(entry, qn("c:delete")).set("val", "1")
    pos = legend.find(qn("c:legendPos"))
    legend.remove(entry)
    if pos is not None:  # schema order: legendPos, legendEntry, layout, overlay, …
        pos.addnext(entry)
    else:
        legend.insert(0, entry)


def _mark_labels(series, spec: ChartSpec, size: float) -> None:
    """"红榜 96.0%" as the label of a 红榜 (黑榜) bar: the colour says target met or not, so the
    list a bar is on is said in words. These few labels are text, not linked to the cell."""
    values = next(iter(spec.series.values()))
    for i, mark in enumerate(spec.marks):
        if mark not in MARK_WORD or i >= len(values) or values[i] is None:
            continue
        dl = series.points[i].data_label
        dl.position = XL_LABEL_POSITION.OUTSIDE_END
        tf = dl.text_frame
        tf.text = f"{MARK_WORD[mark]} {_label_value(values[i], spec.number_format)}"
        for r in tf.paragraphs[0].runs:
            r.font.size = Pt(size)
            r.font.bold = True
            r.font.color.rgb = DARK  # the word says it: a colour here would mean a second thing


def _label_value(v: float, number_format: str) -> str:
    if number_format.endswith("%"):
        return fmt_rate(v)
    return f"{v:,.1f}" if number_format.endswith(".0") else f"{v:,.0f}"


def _label_backgrounds(dl) -> None:
    """White boxes behind data labels, so a label crossing the target line stays readable."""
    el = dl._element
    for old in el.findall(qn("c:spPr")):
        el.remove(old)
    sp = etree.fromstring(
        '<c:spPr xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        '<a:solidFill><a:srgbClr val="FFFFFF"/></a:solidFill><a:ln><a:noFill/></a:ln></c:spPr>')
    anchor = el.find(qn("c:numFmt"))
    if anchor is not None:
        anchor.addnext(sp)
    else:
        el.insert(0, sp)


def _line_chart(slide, spec: ChartSpec, x, y, w, h):
    has_target = spec.target is not None
    gf = slide.shapes.add_chart(XL_CHART_TYPE.LINE_MARKERS, Inches(x), Inches(y), Inches(w),
                                Inches(h), _chart_data(spec, has_target))
    chart = gf.chart
    plot = chart.plots[0]
    main = plot.series[0]
    main.smooth = False
    main.format.line.color.rgb = TREND
    main.format.line.width = Pt(3)
    main.marker.style = XL_MARKER_STYLE.CIRCLE
    main.marker.size = 8
    main.marker.format.fill.solid()
    main.marker.format.fill.fore_color.rgb = TREND
    main.marker.format.line.color.rgb = TREND
    dl = main.data_labels
    dl.number_format = spec.number_format
    dl.number_format_is_linked = False
    dl.position = XL_LABEL_POSITION.ABOVE
    dl.show_value = True
    dl.font.size = Pt(13)
    if has_target:
        t = plot.series[1]
        t.smooth = False
        t.format.line.color.rgb = TARGET
        t.format.line.width = Pt(2.5)
        t.format.line.dash_style = MSO_LINE_DASH_STYLE.DASH
        t.marker.style = XL_MARKER_STYLE.NONE
    _axis_fonts(chart, 13)
    _value_axis(spec, chart)
    _plot_room(chart)
    _label_backgrounds(dl)
    chart.has_title = False
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.TOP
    chart.legend.include_in_layout = False
    chart.legend.font.size = Pt(13)
    _chart_fonts(chart)
    return gf


def _doughnut_chart(slide, spec: ChartSpec, x, y, w, h, domain: str | None):
    rows = doughnut_legend(spec)
    legend_h = 0.42 * len(rows) + 0.1
    gf = slide.shapes.add_chart(XL_CHART_TYPE.DOUGHNUT, Inches(x), Inches(y), Inches(w),
                                Inches(h - legend_h), _chart_data(spec, False))
    chart = gf.chart
    plot = chart.plots[0]
    colors = DOUGHNUT.get(domain or "", DOUGHNUT["coverage"])
    series = plot.series[0]
    for i in range(len(spec.categories)):
        pf = series.points[i].format
        pf.fill.solid()
        pf.fill.fore_color.rgb = RGBColor.from_string(colors[i % len(colors)])
        pf.line.color.rgb = WHITE
    plot.has_data_labels = False
    hole = plot._element.find(qn("c:holeSize"))
    if hole is None:
        hole = etree.SubElement(plot._element, qn("c:holeSize"))
    hole.set("val", "55")
    chart.has_title = True
    chart.chart_title.text_frame.text = spec.title
    chart.chart_title.text_frame.paragraphs[0].runs[0].font.size = Pt(15)
    chart.chart_title.text_frame.paragraphs[0].runs[0].font.bold = True
    chart.has_legend = False
    _chart_fonts(chart)
    box = _box(slide, x + 0.2, y + h - legend_h, w - 0.3, legend_h)
    box.name = "图例"
    for i, (cat, v, share) in enumerate(rows):
        p = box.text_frame.paragraphs[0] if i == 0 else box.text_frame.add_paragraph()
        p.space_after = Pt(4)
        for text, color, bold in (("■ ", RGBColor.from_string(colors[i % len(colors)]), False),
                                  (f"{cat}　", DARK, False),
                                  (f"{v:,.0f}（{share}）", DARK, True)):
            r = p.add_run()
            r.text = text
            r.font.size = Pt(15)
            r.font.bold = bold
            r.font.color.rgb = color
    return gf


def add_chart(slide, spec: ChartSpec, x, y, w, h, domain: str | None = None):
    if spec.kind == "bar":
        return _bar_chart(slide, spec, x, y, w, h)
    if spec.kind == "line":
        return _line_chart(slide, spec, x, y, w, h)
    if spec.kind == "doughnut":
        return _doughnut_chart(slide, spec, x, y, w, h, domain)
    raise ValueError(spec.kind)


# --- tables ---------------------------------------------------------------------------------------


def _cell(cell, text: str, size: float, *, bold=False, color=DARK, fill: RGBColor | None = None,
          align=PP_ALIGN.LEFT) -> None:
    cell.text = ""
    tf = cell.text_frame
    tf.word_wrap = True
    _para(tf, text, size, bold=bold, color=color, align=align, first=True)
    cell.vertical_anchor = MSO_ANCHOR.MIDDLE
    cell.margin_left = cell.margin_right = Inches(0.08)
    cell.margin_top = cell.margin_bottom = Inches(0.03)
    if fill is not None:
        cell.fill.solid()
        cell.fill.fore_color.rgb = fill


def _layout_table(spec: TableSpec, rows: list[list[str]], w: float, max_h: float):
    """(font size, column widths in inches, row heights in inches, rows that fit).

    The largest size (15 → 12 pt) at which every cell fits on one line when columns are sized
    to their content; otherwise 12 pt with columns in proportion to content and cells wrapped,
    and rows beyond the height left off (the workbook has the full list)."""
    pad = 0.2
    cells = [spec.columns] + rows
    ncol = len(spec.columns)
    for size in (15, 14, 13, 12):
        natural = [max(_text_width(str(r[j]), size) for r in cells) + pad for j in range(ncol)]
        if sum(natural) <= w:
            extra = (w - sum(natural)) / ncol
            widths = [n + extra for n in natural]
            row_h = max(0.42, size * 1.3 / 72 + 0.12)
            n = max(1, min(len(rows), int(max_h / row_h) - 1))
            return size, widths, [row_h] * (n + 1), rows[:n]
    size = 12
    natural = [max(_text_width(str(r[j]), size) for r in cells) + pad for j in range(ncol)]
    widths = [n * w / sum(natural) for n in natural]
    heights = []
    for r in cells:
        lines = max(max(1, math.ceil(_text_width(str(r[j]), size) / max(widths[j] - pad, 0.1)))
                    for j in range(ncol))
        heights.append(max(0.42, lines * size * 1.3 / 72 + 0.12))
    keep = 1
    while keep < len(heights) and sum(heights[:keep + 1]) <= max_h:
        keep += 1
    return size, widths, heights[:keep], rows[:keep - 1]


def _layout_lights(spec: TableSpec, rows: list[list[str]], w: float, max_h: float):
    """A 红黄绿灯 table: the unit column as wide as its names, the light columns equal, so
    every ``74.3% 红灯`` stays on one line; headers (metric names) may take two lines. The
    largest size at which the columns fit the width and the rows the height."""
    pad = 0.2
    for size in (16, 15, 14, 13, 12, 11):
        first = max(_text_width(str(r[0]), size) for r in [spec.columns] + rows) + pad
        rest = (w - first) / max(len(spec.columns) - 1, 1)
        # bold and rendered by whatever CJK face the viewer has: a fifth more than estimated
        cells = max((_text_width(str(v), size) for r in rows for v in r[1:]), default=0) * 1.2 + pad
        heads = max((_text_width(c, size) for c in spec.columns[1:]), default=0) / 2 + pad
        row_h = size * 1.3 / 72 + 0.12
        head_h = 2 * size * 1.3 / 72 + 0.14 if heads * 2 - pad > rest else row_h
        fits = max(cells, heads) <= rest and head_h + row_h * len(rows) <= max_h
        if fits or size == 11:
            n = max(1, min(len(rows), int((max_h - head_h) / row_h)))
            widths = [first] + [rest] * (len(spec.columns) - 1)
            return size, widths, [head_h] + [row_h] * n, rows[:n]
    raise AssertionError("unreachable")


def add_table(slide, spec: TableSpec, x, y, w, max_h, *, empty_text: str = "暂无"):
    rows = spec.rows or [[empty_text] + [""] * (len(spec.columns) - 1)]
    layout = _layout_lights if spec.cell_marks else _layout_table
    size, widths, heights, rows = layout(spec, rows, w, max_h)
    n = len(rows) + 1
    shape = slide.shapes.add_table(n, len(spec.columns), Inches(x), Inches(y), Inches(w),
                                   Inches(sum(heights)))
    table = shape.table
    table.horz_banding = False
    used = 0
    for j, cw in enumerate(widths):
        emu = int(Inches(cw)) if j < len(widths) - 1 else int(Inches(w)) - used
        table.columns[j].width = Emu(emu)
        used += emu
    for i in range(n):
        table.rows[i].height = Inches(heights[i])
    for j, h in enumerate(spec.columns):
        _cell(table.cell(0, j), h, size, bold=True, color=WHITE, fill=RED,
              align=PP_ALIGN.LEFT if j == 0 else PP_ALIGN.CENTER)
    for i, row in enumerate(rows, start=1):
        mark = spec.marks[i - 1] if i - 1 < len(spec.marks) else None
        fill = {"red": RGBColor(0xE2, 0xF0, 0xD9), "black": RGBColor(0xFB, 0xE2, 0xE0)}.get(
            mark, WHITE if i % 2 else LIGHT)
        lights = spec.cell_marks[i - 1] if i - 1 < len(spec.cell_marks) else []
        for j, v in enumerate(row):
            light = lights[j] if j < len(lights) else None
            if light is not None:  # a traffic light: the screen's colour, text still says it
                _cell(table.cell(i, j), str(v), size, bold=True, align=PP_ALIGN.CENTER,
                      fill=light_rgb(light), color=DARK if light == YELLOW else WHITE)
                continue
            _cell(table.cell(i, j), str(v), size, fill=fill,
                  align=PP_ALIGN.LEFT if j == 0 else PP_ALIGN.CENTER)
    return shape


def light_rgb(state: str | None) -> RGBColor:
    """A light's colour, the one ``metrics.supervision.LIGHT_COLORS`` gives the pages."""
    return RGBColor.from_string(LIGHT_COLORS[state].lstrip("#").upper())


# --- slide kinds ----------------------------------------------------------------------------------


def _title_slide(slide, deck: Deck, s: Slide) -> None:
    band = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, Inches(1.7), Inches(SLIDE_W),
                                  Inches(2.3))
    band.fill.solid()
    band.fill.fore_color.rgb = RED
    band.line.fill.background()
    _text(slide, MARGIN, 1.85, CONTENT_W, 1.2, s.title, 44, bold=True, color=WHITE,
          align=PP_ALIGN.CENTER, anchor=MSO_ANCHOR.MIDDLE)
    _text(slide, MARGIN, 3.0, CONTENT_W, 0.8, s.bullets[0] if s.bullets else s.subtitle, 28,
          color=WHITE, align=PP_ALIGN.CENTER, anchor=MSO_ANCHOR.MIDDLE)
    rest = "\n".join(s.bullets[1:])
    _text(slide, MARGIN, 4.4, CONTENT_W, 2.4, rest, 20, color=DARK, align=PP_ALIGN.CENTER,
          space_after=6)


def _kpi_card(slide, k: KPI, x, y, w, h) -> None:
    card = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, Inches(x), Inches(y), Inches(w),
                                  Inches(h))
    card.adjustments[0] = 0.06
    card.fill.solid()
    card.fill.fore_color.rgb = LIGHT
    card.line.color.rgb = BORDER
    card.line.width = Pt(1)
    card.name = f"指标卡·{k.label}"
    tf = card.text_frame
    tf.word_wrap = True
    tf.vertical_anchor = MSO_ANCHOR.MIDDLE
    tf.margin_left = tf.margin_right = Inches(0.18)
    tf.margin_top = tf.margin_bottom = Inches(0.1)
    color = DARK if k.target_met is None else GOOD if k.target_met else BAD
    _para(tf, k.label, 18, bold=True, color=GREY, first=True)
    _para(tf, k.display, 40, bold=True, color=color, space_after=4)
    _para(tf, k.change_display, 15, color=DARK, space_after=2)
    if k.target is not None:
        _para(tf, f"年度目标 {fmt_value(k.target, k.kind)}", 15, color=DARK, space_after=2)
        _para(tf, k.target_state, 15, bold=True, color=color)
    if k.time_elapsed is not None:
        _para(tf, f"时间进度 {fmt_rate(k.time_elapsed)}", 15, color=GREY)


def _overview_slide(slide, deck: Deck, s: Slide) -> None:
    cols, gap = 4, 0.25
    w = (CONTENT_W - gap * (cols - 1)) / cols
    h = 2.45
    for i, k in enumerate(s.kpis):
        r, c = divmod(i, cols)
        _kpi_card(slide, k, MARGIN + c * (w + gap), 1.75 + r * (h + 0.22), w, h)


def _chart_slide(slide, deck: Deck, s: Slide) -> None:
    text_h = 0.0
    if s.text:
        size = fit_size(s.text, CONTENT_W, 1.45, sizes=(17, 16, 15, 14, 13))
        lines = sum(max(1, math.ceil(_text_width(p, size) / (CONTENT_W - 0.2)))
                    for p in s.text.split("\n"))
        text_h = min(1.5, lines * size * 1.3 / 72 + 0.2)
        tb = _text(slide, MARGIN, SLIDE_H - 0.55 - text_h, CONTENT_W, text_h, s.text, size)
        tb.name = "通报"
    top = 1.62
    bottom = SLIDE_H - 0.6 - text_h
    if s.chart is not None and s.chart.legend:
        tb = _text(slide, MARGIN, top - 0.05, CONTENT_W, 0.34, s.chart.legend,
                   fit_size(s.chart.legend, CONTENT_W, 0.34, sizes=(13, 12, 11)), color=GREY)
        tb.name = "图例"
        top += 0.32
    add_chart(slide, s.chart, MARGIN, top, CONTENT_W, bottom - top, s.domain)


def _problems_slide(slide, deck: Deck, s: Slide) -> None:
    size = fit_size(s.text, CONTENT_W, 1.0, sizes=(17, 16, 15, 14)) if s.text else 16
    text_h = 1.05
    if s.text:
        tb = _text(slide, MARGIN, SLIDE_H - 0.55 - text_h, CONTENT_W, text_h, s.text, size)
        tb.name = "通报"
    top, bottom = 1.7, SLIDE_H - 0.6 - text_h
    left_w = 7.9
    if s.table is not None:
        add_table(slide, s.table, MARGIN, top, left_w, bottom - top)
    if s.chart2 is not None:
        add_chart(slide, s.chart2, MARGIN + left_w + 0.3, top - 0.1, CONTENT_W - left_w - 0.3,
                  bottom - top + 0.1, s.domain)


def _lights_slide(slide, deck: Deck, s: Slide) -> None:
    """红黄绿灯: the table of lights, then the summary and the rule (the legend) below."""
    top, bottom = 1.7, SLIDE_H - 0.55
    table_h = 0.0
    if s.table is not None:
        # The table takes what it needs (leaving 1.3 in for the text); the text the rest.
        shape = add_table(slide, s.table, MARGIN, top, CONTENT_W, bottom - top - 1.3)
        table_h = Emu(shape.height).inches + 0.3
    if s.text:
        h = bottom - top - table_h
        size = fit_size(s.text, CONTENT_W, h, sizes=(18, 17, 16, 15, 14, 13, 12))
        tb = _text(slide, MARGIN, top + table_h, CONTENT_W, h, s.text, size, space_after=6)
        tb.name = "通报"


def _closing_slide(slide, deck: Deck, s: Slide) -> None:
    text = "\n".join(s.bullets)
    size = fit_size(text, CONTENT_W - 0.4, 5.0, sizes=(22, 20, 18, 17, 16, 15, 14))
    tb = _box(slide, MARGIN, 1.8, CONTENT_W, 5.0)
    tf = tb.text_frame
    for i, b in enumerate(s.bullets):
        head, _, rest = b.partition("：")
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        p.space_after = Pt(14)
        r = p.add_run()
        r.text = f"{i + 1}. {head}：" if rest else f"{i + 1}. "
        r.font.size = Pt(size)
        r.font.bold = True
        r.font.color.rgb = RED
        r2 = p.add_run()
        r2.text = rest or head
        r2.font.size = Pt(size)
        r2.font.color.rgb = DARK
    tb.name = "下一步工作"


DRAW = {"title": _title_slide, "overview": _overview_slide, "lights": _lights_slide,
        "ranking": _chart_slide,
        "trend": _chart_slide, "problems": _problems_slide, "closing": _closing_slide}


def deck_to_pptx(deck: Deck) -> bytes:
    prs = Presentation()
    prs.slide_width = Inches(SLIDE_W)
    prs.slide_height = Inches(SLIDE_H)
    _theme_fonts(prs)
    cp = prs.core_properties
    cp.title = f"{deck.title}({deck.unit_name} {deck.period})"
    cp.author = "网格治理看板"
    cp.subject = "党建引领基层治理工作推进会"
    cp.comments = f"数据截止 {deck.as_of:%Y-%m-%d %H:%M}" + ("；示例数据" if deck.is_demo else "")
    blank = prs.slide_layouts[6]
    total = len(deck.slides)
    for page, s in enumerate(deck.slides, start=1):
        slide = prs.slides.add_slide(blank)
        _frame(slide, deck, s, page, total)
        DRAW[s.kind](slide, deck, s)
        if s.notes:
            slide.notes_slide.notes_text_frame.text = s.notes
            apply_fonts(slide.notes_slide._element)
        apply_fonts(slide._element)
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()
