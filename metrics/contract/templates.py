"""Blank extract templates: one XLSX per table of the data contract (schema.py).

Sheet 1 is the table to fill in: the Chinese header row, one example row and, per column, the
cell type Excel should keep (codes and dates as text) and a dropdown for enums and 是/否.
Sheet 2 "填写说明" explains every column. Everything is derived from schema.py so a template can
never disagree with what validation accepts.
"""

from __future__ import annotations

import io
import unicodedata

import pandas as pd
from xlsxwriter.utility import xl_col_to_name

from metrics.contract import schema as S
from metrics.exports.xlsx import (
    AUTHOR,
    cell_format,
    column_width,
    new_workbook,
    safe_sheet_name,
    write_cell,
    write_table,
)

INSTRUCTIONS_SHEET = "填写说明"
VALIDATION_ROWS = 5000  # data rows that get dropdowns
# Excel's limit on an inline dropdown list ("a,b,c"); longer lists go to a hidden sheet.
INLINE_LIST_MAX = 255
LISTS_SHEET = "可选值"

# Kinds Excel would reinterpret if typed into a General cell (codes lose leading zeros and
# turn into 9.9E+14; dates become serial numbers in the locale's order).
TEXT_KINDS = (S.CODE, S.DATE, S.DATETIME, S.MONTH)

REQUIRED_HEADER = {
    "bold": True, "font_color": "#C00000", "bg_color": "#FDE9D9", "border": 1,
    "border_color": "#BFBFBF", "valign": "vcenter",
}
OPTIONAL_HEADER = {
    "bold": True, "font_color": "#000000", "bg_color": "#F2F2F2", "border": 1,
    "border_color": "#BFBFBF", "valign": "vcenter",
}
TEXT_CELL = {"num_format": "@"}
RATE_CELL = {"num_format": "0%"}

# Example rows: fictional, valid, and referring to the demo city (district 990101, street
# 990101001, community 990101001001, grid 990101001001001, pairing JD2026001). In a real city
# those codes do not exist, so an example row uploaded by mistake is rejected, not stored.
DEMO_DISTRICT = "990101"
DEMO_STREET = "990101001"
DEMO_COMMUNITY = "990101001001"
DEMO_GRID = "990101001001001"
DEMO_PAIRING = "JD2026001"

EXAMPLE_ROWS: dict[str, dict[str, object]] = {
    "units": {
        "code": DEMO_COMMUNITY, "name": "幸福里社区", "level": "社区", "parent_code": DEMO_STREET,
    },
    "organizations": {
        "period": "2026-03", "org_id": "91990101MA1K3Y7P2Q", "org_name": "星河数智科技有限公司",
        "org_type": "非公企业", "sector": "互联网企业", "community_code": DEMO_COMMUNITY,
        "employees": 56, "party_members": 5, "party_org": "单独组建", "instructor": "是",
        "operating": "是",
    },
    "issues": {
        "issue_id": "GD202603050001", "community_code": DEMO_COMMUNITY, "grid_code": DEMO_GRID,
        "source": "网格员上报", "category": "物业管理", "reported_at": "2026-03-05 09:30",
        "due_at": "2026-03-12 18:00", "responded_at": "2026-03-05 10:15",
        "closed_at": "2026-03-08 16:40", "resolved": "是", "satisfaction": "满意",
    },
    "pairings": {
        "pairing_id": DEMO_PAIRING, "partner_name": "市交通运输局机关党委", "partner_level": "市直",
        "community_code": DEMO_COMMUNITY, "started_on": "2026-01-15", "ended_on": None,
    },
    "projects": {
        "project_id": "XM2026001", "pairing_id": DEMO_PAIRING, "title": "老旧小区加装电梯议事协调",
        "kind": "民生实事", "due_on": "2026-06-30", "completed_on": "2026-06-18",
        "status": "已完成",
    },
    "checkins": {
        "period": "2026-03", "community_code": DEMO_COMMUNITY, "units_reported": 12,
        "members_reported": 186, "activities": 4, "service_hours": 96.5,
    },
    "targets": {
        "year": 2026, "metric": "组织覆盖率", "unit_code": DEMO_DISTRICT, "target": 0.95,
    },
    # 网格与小区
    "grids": {
        "period": "2026-03", "grid_code": DEMO_GRID, "grid_party_org": "网格党支部",
        "grid_leader": "是", "fulltime_workers": 1, "parttime_workers": 2, "households": 420,
    },
    "compounds": {
        "period": "2026-03", "compound_id": "XQ990101001001001", "compound_name": "幸福里小区",
        "community_code": DEMO_COMMUNITY, "households": 860, "party_members_resident": 23,
        "party_org": "小区党支部", "property_service": "红色物业", "owners_committee": "是",
        "model_compound": "否", "heads_area": 4, "heads_group": 16, "heads_neighbor": 72,
    },
    "tasks": {
        "task_id": "RW20260001", "title": "老旧小区加装电梯", "kind": "民生项目",
        "owner": "示例区住房城乡建设局", "unit_code": DEMO_DISTRICT, "due_on": "2026-12-31",
        "status": "推进中", "completed_on": None, "progress": 0.6,
        "acceptance": "年内完成加装并通过特种设备验收",
    },
}

GENERAL_NOTES = (
    "编码：CSV 文件可用 UTF-8 或 GBK 编码；也可直接上传本 Excel 文件。",
    "代码列(区划代码、社区代码、统一社会信用代码、各类编号)请设为“文本”格式，否则 Excel 会去掉前导零或改成科学计数法。本模板已将代码列和日期列设为文本。",
    "日期可写 2026-03-05、2026/3/5、2026年3月5日；日期时间可写 2026-03-05 14:30。",
    "表头可用中文或英文(见下表“列名(中文)”“字段名(英文)”“别名”)，列的先后顺序不限；表头上方可以有标题行。",
    "含姓名、身份证、手机、电话、地址等个人信息的列会被自动删除且不会保存，请勿填写居民个人信息。",
    "表头为红色的列必填，黑色的列可留空；有下拉箭头的列请从下拉列表中选择。",
    "第2行是示例数据(使用演示城市的代码，以 9901 开头)，正式填报前请删除或覆盖。",
)
MONTH_NOTE = "月份可写 2026-03、2026/03、202603、2026年3月。"
RATE_NOTE = "比例可写 0.95 或 95%(两者同义)。"

INSTRUCTION_COLUMNS = ("列名(中文)", "字段名(英文)", "类型", "是否必填", "可选值", "规则", "别名")


def _has_cjk(s: str) -> bool:
    return any(unicodedata.east_asian_width(ch) in "WF" for ch in s)


def choices(col: S.Column) -> list[str]:
    """The values a dropdown offers: Chinese where the contract stores an English key
    (层级 区县 rather than district, 指标 组织覆盖率 rather than org_coverage_rate)."""
    if col.kind == S.BOOL:
        return ["是", "否"]
    out = []
    for value in col.enum:
        shown = value
        if not _has_cjk(value):
            shown = next((a for a, v in col.enum_aliases.items() if v == value and _has_cjk(a)),
                         value)
        out.append(shown)
    return out


def _choices_text(col: S.Column) -> str:
    if col.kind == S.BOOL:
        return "是、否"
    shown = choices(col)
    return "、".join(s if s == v else f"{s}({v})" for s, v in zip(shown, col.enum))


def _header_comment(col: S.Column) -> str:
    parts = [f"{col.name}｜{S.KIND_LABELS[col.kind]}｜{'必填' if col.required else '选填'}"]
    if col.rule:
        parts.append(col.rule)
    if col.enum or col.kind == S.BOOL:
        parts.append("可选：" + _choices_text(col))
    return "\n".join(parts)


def _table(table_name: str) -> S.Table:
    try:
        return S.TABLES[table_name]
    except KeyError:
        raise KeyError(f"没有名为“{table_name}”的表，可选：{'、'.join(S.TABLES)}") from None


def template_xlsx(table_name: str) -> bytes:
    """The blank template of one table (see the module docstring)."""
    table = _table(table_name)
    example = EXAMPLE_ROWS.get(table.name, {})
    buf = io.BytesIO()
    wb = new_workbook(buf)
    taken: set[str] = set()
    ws = wb.add_worksheet(safe_sheet_name(table.label, taken))
    guide = wb.add_worksheet(safe_sheet_name(INSTRUCTIONS_SHEET, taken))
    lists = None

    text_fmt = cell_format(wb, TEXT_CELL)
    rate_fmt = cell_format(wb, RATE_CELL)
    for j, col in enumerate(table.columns):
        header = cell_format(wb, REQUIRED_HEADER if col.required else OPTIONAL_HEADER)
        write_cell(ws, 0, j, col.label, header)
        ws.write_comment(0, j, _header_comment(col),
                         {"author": AUTHOR, "x_scale": 2.2, "y_scale": 1.6})
        column_fmt = text_fmt if col.kind in TEXT_KINDS else (
            rate_fmt if col.kind == S.RATE else None)
        value = example.get(col.name)
        write_cell(ws, 1, j, value, column_fmt)
        # Wide enough for a full code or date even where the example leaves the cell empty.
        width = max(column_width(col.label, [value]), 14 if col.kind in TEXT_KINDS else 10)
        # The column format is what Excel gives the cells the analyst types into.
        ws.set_column(j, j, width, column_fmt)
        opts = choices(col) if (col.enum or col.kind == S.BOOL) else None
        if opts:
            validation = {
                "validate": "list",
                # Aliases are accepted too (乡镇, Y/N…), so a typed value warns rather than stops.
                "error_type": "warning",
                "error_title": "不在可选值中",
                "error_message": ("请从下拉列表中选择：" + "、".join(opts))[:255],
            }
            if len(",".join(opts)) <= INLINE_LIST_MAX:
                validation["source"] = opts
            else:
                if lists is None:
                    lists = wb.add_worksheet(safe_sheet_name(LISTS_SHEET, taken))
                    lists.hide()
                for i, o in enumerate(opts):
                    write_cell(lists, i, j, o)
                letter = xl_col_to_name(j)
                validation["source"] = f"='{lists.name}'!${letter}$1:${letter}${len(opts)}"
            ws.data_validation(1, j, VALIDATION_ROWS, j, validation)
    ws.freeze_panes(1, 0)
    ws.set_row(0, 22)
    ws.activate()

    notes = list(GENERAL_NOTES)
    kinds = {c.kind for c in table.columns}
    if S.MONTH in kinds:
        notes.append(MONTH_NOTE)
    if S.RATE in kinds:
        notes.append(RATE_NOTE)
    if table.pii_markers:
        notes.append(f"本表表头含{'、'.join(table.pii_markers)}等指向个人的列也会被删除且不会保存；"
                     "责任单位请填单位名称，不填个人。")
    lines = [f"{table.label}：{table.description}", *(f"{i}. {n}" for i, n in enumerate(notes, 1))]
    write_cell(guide, 0, 0, f"填写说明 — {table.label}", cell_format(wb, {"bold": True, "font_size": 12}))
    for i, line in enumerate(lines, start=1):
        write_cell(guide, i, 0, line)
    rows = pd.DataFrame(
        [
            (
                c.label, c.name, S.KIND_LABELS[c.kind], "是" if c.required else "否",
                _choices_text(c) if (c.enum or c.kind == S.BOOL) else None, c.rule or None,
                "、".join(c.aliases) or None,
            )
            for c in table.columns
        ],
        columns=list(INSTRUCTION_COLUMNS),
    )
    write_table(guide, wb, rows, start_row=len(lines) + 2, freeze=False,
                col_widths={"列名(中文)": 18, "字段名(英文)": 18, "类型": 18, "是否必填": 10},
                formats={"规则": {"text_wrap": True, "valign": "top"},
                         "可选值": {"text_wrap": True, "valign": "top"}})
    wb.close()
    return buf.getvalue()


def template_filename(table_name: str) -> str:
    return f"{_table(table_name).label.replace('/', '、')}_模板.xlsx"
