"""Every table's blank template: readable, complete, and its example row passes validation."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from metrics.contract import schema as S
from metrics.contract.parse import parse_column
from metrics.contract.readers import read_extract
from metrics.contract.templates import (
    DEMO_COMMUNITY,
    DEMO_DISTRICT,
    DEMO_GRID,
    DEMO_PAIRING,
    DEMO_STREET,
    EXAMPLE_ROWS,
    INSTRUCTION_COLUMNS,
    INSTRUCTIONS_SHEET,
    TEXT_KINDS,
    VALIDATION_ROWS,
    choices,
    template_xlsx,
)
from metrics.contract.validate import RefContext, check
from metrics.exports.xlsx import safe_sheet_name

TABLES = list(S.TABLES)


def _ref() -> RefContext:
    units = pd.DataFrame({
        "code": [DEMO_DISTRICT, DEMO_STREET, DEMO_COMMUNITY, DEMO_GRID],
        "level": ["district", "street", "community", "grid"],
        "parent_code": [None, DEMO_DISTRICT, DEMO_STREET, DEMO_COMMUNITY],
    })
    return RefContext(units=units, pairing_ids={DEMO_PAIRING})


@pytest.fixture(scope="module", params=TABLES)
def template(request):
    table = S.TABLES[request.param]
    content = template_xlsx(table.name)
    return table, content, openpyxl.load_workbook(io.BytesIO(content))


def _guide_rows(wb) -> tuple[list, list[list]]:
    """(lines above the column table, rows of the column table under its header)."""
    rows = [list(r) for r in wb[INSTRUCTIONS_SHEET].iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if tuple(r[:len(INSTRUCTION_COLUMNS)]) == INSTRUCTION_COLUMNS)
    return [r[0] for r in rows[:head] if r[0]], rows[head + 1:]


def _column_format(ws, j: int) -> str | None:
    # Adjacent columns alike are stored as one <col min max> range, keyed by its first letter.
    for dim in ws.column_dimensions.values():
        if dim.min <= j <= dim.max:
            return dim.number_format
    return None


def test_example_codes_look_like_the_demo_city():
    assert DEMO_DISTRICT.startswith("9901") and DEMO_COMMUNITY == "990101001001"
    for name, row in EXAMPLE_ROWS.items():
        table = S.TABLES[name]
        for c in table.columns:
            if c.kind == S.CODE and c.name.endswith(("community_code", "unit_code", "grid_code")):
                assert str(row[c.name]).startswith("9901"), (name, c.name)


def test_sheets_and_header_row(template):
    table, _, wb = template
    assert wb.sheetnames[:2] == [safe_sheet_name(table.label), INSTRUCTIONS_SHEET]
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == [c.label for c in table.columns]
    assert ws.freeze_panes == "A2"
    for cell, col in zip(ws[1], table.columns, strict=True):
        # Required columns are marked by style, never by changing the header text.
        red = (cell.font.color.rgb or "").upper().endswith("C00000")
        assert cell.font.b
        assert red == col.required, col.name


def test_example_row_is_typed_as_text_where_excel_would_mangle_it(template):
    table, _, wb = template
    ws = wb.worksheets[0]
    example = EXAMPLE_ROWS[table.name]
    for j, col in enumerate(table.columns, start=1):
        cell = ws.cell(row=2, column=j)
        value = example.get(col.name)
        if col.kind in TEXT_KINDS:
            assert cell.number_format == "@", col.name
            # The column format is what Excel applies to the cells typed in later.
            assert _column_format(ws, j) == "@", col.name
            if value is not None:
                assert cell.data_type == "s" and cell.value == value, col.name
        elif col.kind in (S.INT, S.NUMBER, S.RATE):
            assert cell.data_type == "n" and cell.value == value, col.name
        if value is None:
            assert cell.value is None


def test_dropdowns_for_enums_and_booleans(template):
    table, _, wb = template
    ws = wb.worksheets[0]
    by_range = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    for j, col in enumerate(table.columns, start=1):
        letter = openpyxl.utils.get_column_letter(j)
        dv = by_range.get(f"{letter}2:{letter}{VALIDATION_ROWS + 1}")
        if col.kind == S.BOOL or col.enum:
            assert dv is not None and dv.type == "list", col.name
            opts = choices(col)
            assert dv.formula1 == '"' + ",".join(opts) + '"'
            # Every option offered is a value validation accepts.
            parsed = parse_column(pd.Series(opts, dtype=object), col)
            assert parsed.reason.isna().all(), (col.name, parsed.reason.tolist())
            if col.kind == S.BOOL:
                assert opts == ["是", "否"]
            else:
                assert set(parsed.values) == set(col.enum)
        else:
            assert dv is None, col.name


def test_instructions_sheet_lists_every_column(template):
    table, _, wb = template
    notes, rows = _guide_rows(wb)
    text = "\n".join(map(str, notes))
    for phrase in ("UTF-8", "GBK", "文本", "2026-03-05", "2026/3/5", "2026年3月5日", "中文或英文",
                   "姓名", "身份证", "手机", "电话", "地址", "不会保存", table.description):
        assert phrase in text, phrase
    listed = {r[0]: r for r in rows if r[0]}
    assert list(listed) == [c.label for c in table.columns]
    for c in table.columns:
        label, name, kind, required, options, rule, aliases = listed[c.label][:7]
        assert name == c.name
        assert kind == S.KIND_LABELS[c.kind]
        assert required == ("是" if c.required else "否")
        assert (rule or "") == c.rule
        assert (aliases or "") == "、".join(c.aliases)
        if c.enum:
            assert all(v in options for v in c.enum), (c.name, options)
            assert "、" in options
        elif c.kind == S.BOOL:
            assert options == "是、否"
        else:
            assert options is None


def test_example_row_passes_validation(template):
    table, content, _ = template
    raw = read_extract(content, "x.xlsx", table)
    assert raw.sheet == safe_sheet_name(table.label)
    assert len(raw.data) == 1 and raw.rows.tolist() == [2]
    checked = check(raw, table, _ref())
    assert checked.errors == [], checked.errors
    assert checked.warnings == [], checked.warnings
    assert set(checked.mapping.values()) == set(table.names)
    assert not checked.ignored and not checked.dropped_pii
    frame = checked.frame
    example = EXAMPLE_ROWS[table.name]
    for c in table.columns:
        if c.kind in (S.CODE, S.TEXT) and example.get(c.name) is not None:
            assert frame[c.name].iloc[0] == example[c.name]


def test_example_codes_are_rejected_without_the_demo_city():
    # An example row uploaded by mistake in a real city must not be stored.
    table = S.TABLES["organizations"]
    raw = read_extract(template_xlsx(table.name), "x.xlsx", table)
    real = pd.DataFrame({"code": ["330102001001"], "level": ["community"],
                         "parent_code": ["330102001"]})
    assert not check(raw, table, RefContext(units=real)).ok


def test_unknown_table():
    with pytest.raises(KeyError):
        template_xlsx("nope")


def test_every_table_has_an_example():
    assert set(EXAMPLE_ROWS) == set(S.TABLES)
    for name, row in EXAMPLE_ROWS.items():
        assert set(row) <= set(S.TABLES[name].names)
        assert {c.name for c in S.TABLES[name].columns if c.required} <= set(row)
