"""Exports of a selection: the 推进会 deck (PPTX, PDF), the 通报 workbook (XLSX), a page's
summary (PDF) and the 督办通知 of red units (DOCX).

``build(store, settings, kind, sel)`` is what ``python -m metrics export`` and scheduled runs
call; it opens its own DuckDB connection over the store's current versions. The pages call
``render`` on the connection they already hold.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from metrics.contract import schema as S
from metrics.datadir import is_demo
from metrics.db import connect
from metrics.selection import Selection, SelectionError
from metrics.settings import Settings
from metrics.store.versions import Store

KINDS = ("pptx", "xlsx", "pdf", "docx")
# The media type of every file the product hands out, by extension (downloads and mail).
MEDIA_TYPES = {
    "csv": "text/csv",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
# What a PDF may hold: the whole deck, or the summary of one dashboard page.
PDF_PAGES = ("deck", "overview", "coverage", "issues", "pairing", "grids", "tasks")


class ExportError(ValueError):
    """A request no file can answer: an unknown kind or PDF page, a selection without data or
    outside the viewer's scope (the CLI exits 2 with this Chinese message)."""


def version_string(signature: tuple[tuple[str, str | None], ...]) -> str:
    """The store's current versions, compact and traceable to ``python -m metrics versions``:
    区划v1·台账v3·工单v12·… (— for a table never uploaded)."""
    parts = []
    for table, version in signature:
        short = S.TABLES[table].short_label if table in S.TABLES else table
        if version and version.startswith("v") and version[1:].isdigit():
            parts.append(f"{short}v{int(version[1:])}")
        else:
            parts.append(f"{short}{version or '—'}")
    return "·".join(parts)


def filename(kind: str, deck_or_unit: str, period: str) -> str:
    """A download name such as 全市推进会_2026年10月.pptx."""
    stem = {"pptx": "推进会", "xlsx": "通报表", "pdf": "推进会", "docx": "督办通知"}[kind]
    return f"{deck_or_unit}{stem}_{period}.{kind}"


def notice_level(sel: Selection) -> Selection:
    """督办通知 go to units: at the city level, to the districts."""
    return sel.with_(level="district") if sel.level == "city" else sel


def build(store: Store, settings: Settings, kind: str, sel: Selection, *,
          title: str | None = None, page: str = "deck", host: str | None = None,
          meeting_date: dt.date | None = None) -> bytes:
    """The file's bytes. A selection that cannot be answered (no data, a unit outside the
    viewer's scope) raises ``ExportError`` with a Chinese message."""
    if kind not in KINDS:
        raise ExportError(f"导出类型应为 {'/'.join(KINDS)}：{kind}")
    if kind == "pdf" and page not in PDF_PAGES:
        raise ExportError(f"PDF 内容应为 {'/'.join(PDF_PAGES)}：{page}")
    version = version_string(store.signature(tuple(S.TABLES)))
    con = connect(store, settings)
    try:
        return render(con, kind, sel, settings=settings, title=title, page=page, host=host,
                      meeting_date=meeting_date, is_demo=is_demo(store.root),
                      data_version=version)
    except SelectionError as e:
        raise ExportError(str(e)) from None
    finally:
        con.close()


def render(con: duckdb.DuckDBPyConnection, kind: str, sel: Selection, *, settings: Settings,
           is_demo: bool, data_version: str, title: str | None = None, page: str = "deck",
           host: str | None = None, meeting_date: dt.date | None = None) -> bytes:
    """The file's bytes on an open connection (the pages pass theirs; ``build`` opens one).
    ``page``: for a PDF, the whole deck or one page's summary (``PDF_PAGES``). ``title``,
    ``host``, ``meeting_date``: 会议名称, 主办单位, 会议日期 of the deck's title slide."""
    if kind in ("pptx", "pdf"):
        from metrics.exports.slides import build_deck

        deck = build_deck(con, sel, settings=settings, title=title, host=host,
                          meeting_date=meeting_date, is_demo=is_demo, data_version=data_version)
        if kind == "pptx":
            from metrics.exports.pptx import deck_to_pptx

            return deck_to_pptx(deck)
        from metrics.exports.pdf import deck_to_pdf, page_summary

        return deck_to_pdf(deck, slides=None if page == "deck" else page_summary(deck, page))
    if kind == "docx":
        from metrics.exports.notices import notices, notices_docx

        return notices_docx(notices(con, notice_level(sel), settings=settings))
    from metrics.exports.report_xlsx import report_workbook

    return report_workbook(con, sel, settings=settings, data_version=data_version, is_demo=is_demo)
