"""PDF of the 推进会 deck and of a page's summary: drawn offline, Chinese text extracts, the font
is embedded, the numbers are the deck's."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from metrics.exports.pdf import deck_to_pdf, page_summary
from metrics.exports.slides import build_deck
from metrics.selection import Selection
from metrics.settings import Settings


def _text(page) -> str:
    # pypdf puts spaces (and, for fpdf2's Identity-UCS encoding, NULs) between CJK glyphs;
    # the words are what matter (poppler's pdftotext reads the same text cleanly).
    return "".join(page.extract_text().replace("\x00", "").split())


@pytest.fixture(scope="module")
def deck(city):
    return build_deck(city.con, Selection.make("district", period="2026-10"), settings=Settings(),
                      is_demo=False, data_version="区划v1")


def test_one_page_per_slide_with_each_title(deck):
    reader = PdfReader(io.BytesIO(deck_to_pdf(deck)))
    assert len(reader.pages) == len(deck.slides)
    for page, slide in zip(reader.pages, deck.slides):
        assert "".join(slide.title.split()) in _text(page)


def test_chinese_text_and_numbers_extract(deck):
    reader = PdfReader(io.BytesIO(deck_to_pdf(deck)))
    overview = next(i for i, s in enumerate(deck.slides) if s.kind == "overview")
    text = _text(reader.pages[overview])
    for k in deck.slides[overview].kpis:
        assert k.label in text and k.display in text
    ranking = next(i for i, s in enumerate(deck.slides) if s.kind == "ranking")
    # The 通报 paragraph under the chart is the deck's, word for word.
    assert "".join(deck.slides[ranking].text.split()) in _text(reader.pages[ranking])


def test_font_is_embedded(deck):
    reader = PdfReader(io.BytesIO(deck_to_pdf(deck)))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = []
    for ref in fonts.values():
        font = ref.get_object()
        for desc in font.get("/DescendantFonts", []):
            fd = desc.get_object()["/FontDescriptor"].get_object()
            embedded.append(any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3")))
    assert embedded and all(embedded)


def test_page_summary_holds_that_domain_only(deck):
    slides = page_summary(deck, "issues")
    assert slides and all(s.domain == "issues" for s in slides)
    reader = PdfReader(io.BytesIO(deck_to_pdf(deck, slides=slides)))
    assert len(reader.pages) == len(slides)
    assert "问题解决" in _text(reader.pages[0])
    overview = page_summary(deck, "overview")
    assert [s.kind for s in overview] == ["title", "overview", "lights", "closing"]
