"""督办通知: one page per unit with a 红灯, as an editable Word document (DOCX).

Why DOCX (python-docx) rather than PDF: a 督办通知 is an official document the organiser edits,
numbers, signs and stamps before it goes out; offices do that in Word/WPS. The 推进会 material
itself is offered as PDF too (``metrics.exports.pdf``).

``notices(con, sel, settings=…, issuer=…, issued_on=…)`` gathers, for the units of ``sel.level``
(below ``sel``'s unit) with at least one 红灯 in any domain: their red metrics with value,
应达值 and gap, and the unit's own follow-up items (应建未建 organizations, overdue orders,
overdue projects), and ``notices_docx`` writes them. Units without a red light get no notice;
no red unit at all gives a document that says so (one page), never an empty file.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import duckdb
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from metrics.contract.schema import LEVEL_LABELS
from metrics.definitions import DOMAIN_LABELS, METRICS
from metrics.domains import coverage, issues, pairing
from metrics.exports.bulletin import fmt_rate
from metrics.selection import Selection, month_index, period_label
from metrics.settings import Settings
from metrics.supervision import RED, explicit, lights

DEFAULT_ISSUER = "党建引领基层治理工作领导小组办公室"
BODY_FONT = "仿宋"  # the usual body face of official documents (仿宋_GB2312 where installed)
TITLE_FONT = "黑体"
ITEMS_PER_NOTICE = 8  # follow-up rows that fit the one page; the rest are counted
DOMAINS = ("coverage", "issues", "pairing")


@dataclass
class RedMetric:
    domain: str
    key: str
    value: float | None
    expected: float | None
    target: float | None
    gap_points: float | None
    escalated: bool


@dataclass
class Notice:
    unit_code: str
    unit_name: str
    number: str  # 督办〔2026〕10-01号
    metrics: list[RedMetric] = field(default_factory=list)
    items: list[tuple[str, list[str]]] = field(default_factory=list)  # (what, rows as text)
    item_totals: dict[str, int] = field(default_factory=dict)


@dataclass
class Notices:
    period: str
    level_label: str
    issuer: str
    issued_on: dt.date
    due_on: dt.date
    notices: list[Notice]


def _followups(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection
               ) -> tuple[str, list[str], int] | None:
    """The unit's overdue/missing items of ``domain`` as short lines (at most
    ``ITEMS_PER_NOTICE``), with the total count."""
    limit = 5000
    if domain == "coverage":
        df = coverage.gap_list(con, sel, "should_build", limit=limit)
        rows = [f"{r.org_name}(正式党员{int(r.party_members)}名，{r.party_org})"
                for r in df.itertuples(index=False)]
        return "应建未建组织", rows, len(df)
    if domain == "issues":
        df = issues.overdue_orders(con, sel, limit=limit)
        rows = [f"{r.issue_id}　{r.category}　超期{int(r.overdue_days // 1)}天"
                for r in df.itertuples(index=False)]
        return "超期未办结工单", rows, len(df)
    if domain == "pairing":
        df = pairing.overdue_projects(con, sel, limit=limit)
        rows = [f"{r.title}(结对单位：{r.partner_name}，逾期{int(r.overdue_days)}天)"
                for r in df.itertuples(index=False)]
        return "逾期共建项目", rows, len(df)
    return None


def notices(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings: Settings,
            issuer: str = DEFAULT_ISSUER, issued_on: dt.date | None = None) -> Notices:
    """One ``Notice`` per unit of ``sel.level`` with a 红灯 in any domain, in code order."""
    issued_on = issued_on or dt.date.today()
    red: dict[str, Notice] = {}
    names: dict[str, str] = {}
    period = ""
    for domain in DOMAINS:
        dsel = explicit(con, domain, sel.with_(filters=()))
        if dsel.period_to is None:
            continue
        if not period:
            period = period_label(month_index(dsel.period_from), month_index(dsel.period_to))
        lt = lights(con, domain, dsel, settings=settings)
        for r in lt[lt["light"] == RED].to_dict("records"):
            code = r["unit_code"]
            if not isinstance(code, str):
                continue  # the city row: a notice goes to a unit
            names[code] = str(r["unit_name"])
            n = red.setdefault(code, Notice(code, names[code], ""))
            n.metrics.append(RedMetric(domain, r["key"], r["value"], r["expected"], r["target"],
                                       r["gap_points"], bool(r["escalated"])))
    year = issued_on.year
    out = []
    for i, code in enumerate(sorted(red), start=1):
        n = red[code]
        n.number = f"督办〔{year}〕{issued_on.month:02d}-{i:02d}号"
        for domain in dict.fromkeys(m.domain for m in n.metrics):
            usel = explicit(con, domain, sel.with_(unit=code, filters=()))
            got = _followups(con, domain, usel)
            if got is not None and got[2]:
                what, rows, total = got
                n.items.append((what, rows[:ITEMS_PER_NOTICE]))
                n.item_totals[what] = total
        out.append(n)
    due_on = issued_on + dt.timedelta(days=settings.rectification_days)
    return Notices(period, LEVEL_LABELS.get(sel.level, ""), issuer, issued_on, due_on, out)


# --- writing the document ----------------------------------------------------------------------


def _cn_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _font(run, size: float, *, face: str = BODY_FONT, bold: bool = False) -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = face
    # python-docx sets only the Latin face; Chinese text takes w:eastAsia.
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), face)


def _para(doc_or_cell, text: str, size: float = 16, *, face: str = BODY_FONT, bold=False,
          align=None, indent: bool = False, space_after: float = 4):
    p = doc_or_cell.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    p.paragraph_format.space_after = Pt(space_after)
    p.paragraph_format.line_spacing = 1.25
    _font(p.add_run(text), size, face=face, bold=bold)
    return p


def _value_text(v: float | None, key: str) -> str:
    return fmt_rate(v) if METRICS[key].is_rate else ("—" if v is None else f"{v:.1f}")


def _metric_table(doc, n: Notice) -> None:
    head = ["板块", "指标", "实际值", "应达值", "差距", "说明"]
    t = doc.add_table(rows=1, cols=len(head))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(t.rows[0].cells, head):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(text), 12, face=TITLE_FONT)
    for m in n.metrics:
        note = "连续黄灯转红灯" if m.escalated else "落后超过黄灯阈值"
        gap = "—" if m.gap_points is None else f"{m.gap_points:+.1f}个百分点"
        cells = t.add_row().cells
        for cell, text in zip(cells, [DOMAIN_LABELS[m.domain], METRICS[m.key].label,
                                      _value_text(m.value, m.key),
                                      _value_text(m.expected, m.key), gap, note]):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(text), 12)
    for row in t.rows:
        for cell, width in zip(row.cells, (2.2, 3.2, 2.2, 2.2, 3.0, 3.6)):
            cell.width = Cm(width)


def notices_docx(data: Notices) -> bytes:
    """The notices, one page each (a page break between), A4 portrait."""
    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.top_margin = sec.bottom_margin = Cm(2.5)
    sec.left_margin = sec.right_margin = Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    if not data.notices:
        _para(doc, "督办通知", 22, face=TITLE_FONT, align=WD_ALIGN_PARAGRAPH.CENTER)
        _para(doc, f"{data.period}，各{data.level_label}均未亮红灯，本期无督办事项。", indent=True)
        return _save(doc)
    for i, n in enumerate(data.notices):
        if i:
            doc.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)
        _para(doc, "督 办 通 知", 22, face=TITLE_FONT, align=WD_ALIGN_PARAGRAPH.CENTER,
              space_after=2)
        p = _para(doc, n.number, 14, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=10)
        p.runs[0].font.color.rgb = RGBColor(0x55, 0x55, 0x55)
        _para(doc, f"{n.unit_name}：", 16)
        _para(doc, f"根据{data.period}党建引领基层治理工作监测，你单位以下{len(n.metrics)}项指标"
                   "亮红灯(落后于年度目标或序时进度)，现予督办：", 16, indent=True)
        _metric_table(doc, n)
        if n.items:
            _para(doc, "需重点整改的事项：", 16, face=TITLE_FONT, space_after=2)
            for what, rows in n.items:
                total = n.item_totals[what]
                more = f"(共{total}项，以下列出{len(rows)}项，完整清单见通报工作簿)" if total > len(rows) \
                    else f"(共{total}项)"
                _para(doc, f"{what}{more}：", 14, bold=True, space_after=1)
                for row in rows:
                    _para(doc, f"· {row}", 12, space_after=0)
        _para(doc, f"请于{_cn_date(data.due_on)}前完成整改，并将整改情况书面报送{data.issuer}。"
                   "逾期未完成的，将在下次推进会上通报。", 16, indent=True)
        _para(doc, data.issuer, 16, align=WD_ALIGN_PARAGRAPH.RIGHT, space_after=0)
        _para(doc, _cn_date(data.issued_on), 16, align=WD_ALIGN_PARAGRAPH.RIGHT)
    return _save(doc)


def _save(doc) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
