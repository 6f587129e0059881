"""The suite of bad (and baseline) extracts, one per rule of docs/contract/data-contract.md.

Used by tests/test_validation.py and, later, by the upload page tests. Everything here is plain
bytes built in memory; nothing touches a store except ``build_baseline``.

``bad_files()`` returns ``BadFile`` tuples::

    (name, table, file_name, content, expected_row, expected_column_substring,
     expected_reason_substring)

``expected_row`` is the row number as the analyst sees it (header = row 1; a title row above the
header shifts it; in Parquet the first record is row 1), or ``None`` for a file that cannot be
read at all (empty, truncated, not a table). Each file from ``bad_files()`` has exactly one bad
row (or no readable rows); ``multi_row_bad_files()`` holds files whose ``expected_row`` is a tuple
of every bad row, among them ``duplicate_files()`` (a repeated key: both rows are bad). ``warning_files()`` uses the same shape for files that are published with a
warning.

The files reference a tiny baseline (``build_baseline``): district 990101 → street 990101001 →
communities 990101001001 / 990101001002 → one grid each; pairing JD001.
"""

from __future__ import annotations

import atexit
import csv
import io
import random
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

import openpyxl
import pandas as pd

# --- the baseline's units --------------------------------------------------------------------

DISTRICT = "990101"
STREET = "990101001"
COMM = "990101001001"
COMM2 = "990101001002"
GRID = "990101001001001"
GRID2 = "990101001002001"
PAIRING = "JD001"

# Planted personal data: must never reach storage.
PII_PHONE = "13912345678"
PII_ID = "110101199003071234"
PII_NAME = "张三丰"
PII_ADDRESS = "幸福路88号"


class BadFile(NamedTuple):
    name: str
    table: str
    file_name: str
    content: bytes
    expected_row: int | tuple[int, ...] | None
    expected_column: str
    expected_reason: str


# --- GB 32100-2015 (written from the contract, independently of metrics/validate.py) ---------

_CREDIT = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(first17: str) -> str:
    """A valid 统一社会信用代码: ``first17`` plus its check character."""
    assert len(first17) == 17
    total = sum(_CREDIT.index(ch) * w for ch, w in zip(first17, _WEIGHTS))
    return first17 + _CREDIT[(31 - total % 31) % 31]


def bad_check_digit(first17: str) -> str:
    good = credit_code(first17)
    wrong = _CREDIT[(_CREDIT.index(good[-1]) + 1) % 31]
    return first17 + wrong


ORG1 = credit_code("91990101MA0000001")
ORG2 = credit_code("52990101MJ0000002")
ORG3 = credit_code("91990101MA0000003")
ORG4 = credit_code("91990101MA0000005")
ORG_BAD_CHECK = bad_check_digit("91990101MA0000004")

# --- writers ---------------------------------------------------------------------------------


def csv_bytes(header: list[str], rows: list[list], *, title: list[str] | None = None,
              encoding: str = "utf-8", bom: bool = False, blank_before: int | None = None) -> bytes:
    """A CSV as Excel writes it. ``title`` lines go above the header; ``blank_before=i`` puts an
    empty line before data row i (0-based)."""
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    for t in title or []:
        w.writerow([t])
    w.writerow(header)
    for i, r in enumerate(rows):
        if blank_before == i:
            out.write("\r\n")
        w.writerow(["" if v is None else v for v in r])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(header: list[str], rows: list[list], *, title: list[str] | None = None,
               blank_after_title: bool = False, sheet: str = "Sheet1") -> bytes:
    """An XLSX written with openpyxl: Python ints/floats become numeric cells, datetimes date
    cells, strings text cells."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for t in title or []:
        ws.append([t])
    if blank_after_title:
        ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


# --- valid files (the baseline) ---------------------------------------------------------------

# (column name, header as the analyst writes it)
HEADERS: dict[str, list[tuple[str, str]]] = {
    "units": [("code", "区划代码"), ("name", "名称"), ("level", "层级"), ("parent_code", "上级代码")],
    "organizations": [
        ("period", "统计月份"), ("org_id", "统一社会信用代码"), ("org_name", "单位名称"),
        ("org_type", "单位类型"), ("sector", "新兴领域"), ("community_code", "所属社区代码"),
        ("employees", "从业人员数（人）"), ("party_members", "正式党员数"),
        ("party_org", "党组织建立情况"), ("instructor", "是否选派党建指导员"),
        ("operating", "是否实体运营"),
    ],
    "issues": [
        ("issue_id", "工单编号"), ("community_code", "所属社区代码"), ("grid_code", "所属网格代码"),
        ("source", "来源"), ("category", "问题类别"), ("reported_at", "上报时间"),
        ("due_at", "办理时限"), ("responded_at", "首次响应时间"), ("closed_at", "办结时间"),
        ("resolved", "是否解决"), ("satisfaction", "满意度"),
    ],
    "pairings": [
        ("pairing_id", "结对编号"), ("partner_name", "结对单位"), ("partner_level", "单位层级"),
        ("community_code", "结对社区代码"), ("started_on", "结对日期"), ("ended_on", "结束日期"),
    ],
    "projects": [
        ("project_id", "项目编号"), ("pairing_id", "结对编号"), ("title", "项目名称"),
        ("kind", "项目类别"), ("due_on", "计划完成日期"), ("completed_on", "实际完成日期"),
        ("status", "状态"),
    ],
    "checkins": [
        ("period", "统计月份"), ("community_code", "社区代码"), ("units_reported", "报到单位数"),
        ("members_reported", "报到党员数"), ("activities", "开展活动次数"),
        ("service_hours", "服务时长（小时）"),
    ],
    "targets": [("year", "年度"), ("metric", "指标"), ("unit_code", "区划代码"), ("target", "目标值")],
    # 重点任务督办
    "tasks": [
        ("task_id", "任务编号"), ("title", "任务名称"), ("kind", "任务类别"), ("owner", "责任单位"),
        ("unit_code", "所属区划代码"), ("due_on", "完成时限"), ("status", "状态"),
        ("completed_on", "实际完成日期"), ("progress", "完成进度（%）"), ("acceptance", "检验标准"),
    ],
}


def header_of(table: str, column: str) -> str:
    return dict(HEADERS[table])[column]


BASELINE_ROWS: dict[str, list[dict]] = {
    "units": [
        {"code": DISTRICT, "name": "东城区", "level": "区县", "parent_code": ""},
        {"code": STREET, "name": "东华街道", "level": "街道", "parent_code": DISTRICT},
        {"code": COMM, "name": "东华社区", "level": "社区", "parent_code": STREET},
        {"code": COMM2, "name": "西华社区", "level": "社区", "parent_code": STREET},
        {"code": GRID, "name": "东华一网格", "level": "网格", "parent_code": COMM},
        {"code": GRID2, "name": "西华一网格", "level": "网格", "parent_code": COMM2},
    ],
    "organizations": [
        {"period": "2026-03", "org_id": ORG1, "org_name": "东华科技有限公司", "org_type": "非公企业",
         "sector": "商务楼宇", "community_code": COMM, "employees": "120", "party_members": "5",
         "party_org": "单独组建", "instructor": "是", "operating": "是"},
        {"period": "2026-03", "org_id": ORG2, "org_name": "西华社工服务中心", "org_type": "社会组织",
         "sector": "", "community_code": COMM2, "employees": "8", "party_members": "1",
         "party_org": "未组建", "instructor": "否", "operating": ""},
        {"period": "2026-04", "org_id": ORG1, "org_name": "东华科技有限公司", "org_type": "非公企业",
         "sector": "商务楼宇", "community_code": COMM, "employees": "125", "party_members": "6",
         "party_org": "单独组建", "instructor": "是", "operating": "是"},
        {"period": "2026-04", "org_id": ORG2, "org_name": "西华社工服务中心", "org_type": "社会组织",
         "sector": "", "community_code": COMM2, "employees": "9", "party_members": "1",
         "party_org": "联合组建", "instructor": "否", "operating": ""},
    ],
    "issues": [
        {"issue_id": "GD0001", "community_code": COMM, "grid_code": GRID, "source": "12345热线",
         "category": "物业管理", "reported_at": "2026-03-01 09:00", "due_at": "2026-03-04 09:00",
         "responded_at": "2026-03-01 10:00", "closed_at": "2026-03-02 16:00", "resolved": "是",
         "satisfaction": "满意"},
        {"issue_id": "GD0002", "community_code": COMM2, "grid_code": "", "source": "网格员上报",
         "category": "停车管理", "reported_at": "2026/3/5 9:05", "due_at": "2026/3/8 9:05",
         "responded_at": "", "closed_at": "", "resolved": "", "satisfaction": ""},
    ],
    "pairings": [
        {"pairing_id": PAIRING, "partner_name": "省商务厅机关党委", "partner_level": "省直",
         "community_code": COMM, "started_on": "2026-01-05", "ended_on": ""},
    ],
    "projects": [
        {"project_id": "XM001", "pairing_id": PAIRING, "title": "老旧小区加装电梯", "kind": "民生实事",
         "due_on": "2026-06-30", "completed_on": "", "status": "推进中"},
    ],
    "checkins": [
        {"period": "2026-03", "community_code": COMM, "units_reported": "12",
         "members_reported": "85", "activities": "4", "service_hours": "36.5"},
    ],
    "targets": [
        {"year": "2026", "metric": "close_rate", "unit_code": "", "target": "95%"},
    ],
    # 重点任务督办
    "tasks": [
        {"task_id": "RW001", "title": "老旧小区改造提升", "kind": "重点任务", "owner": "区住建局",
         "unit_code": DISTRICT, "due_on": "2026-06-30", "status": "推进中", "completed_on": "",
         "progress": "40%", "acceptance": "完成改造并通过竣工验收"},
    ],
}

# Rows a bad file carries beside its bad row: valid against the baseline, new keys.
GOOD_ROWS: dict[str, list[dict]] = {
    "units": [
        {"code": "990101002", "name": "西城街道", "level": "街道", "parent_code": DISTRICT},
        {"code": "990101002001", "name": "西城社区", "level": "社区", "parent_code": "990101002"},
    ],
    "organizations": [
        {"period": "2026-05", "org_id": ORG1, "org_name": "东华科技有限公司", "org_type": "非公企业",
         "sector": "商务楼宇", "community_code": COMM, "employees": "130", "party_members": "6",
         "party_org": "单独组建", "instructor": "是", "operating": "是"},
        {"period": "2026-05", "org_id": ORG2, "org_name": "西华社工服务中心", "org_type": "社会组织",
         "sector": "其他", "community_code": COMM2, "employees": "9", "party_members": "0",
         "party_org": "未组建", "instructor": "", "operating": "否"},
        # A third row: a file of exactly three rows with an unreadable month crashes the month
        # parser (see test_validation.test_bug_three_row_file_with_bad_month_is_rejected).
        {"period": "2026年5月", "org_id": ORG4, "org_name": "北华商贸城",
         "org_type": "非公企业", "sector": "商圈市场", "community_code": COMM2, "employees": "1,200",
         "party_members": "１５", "party_org": "联合组建", "instructor": "Y", "operating": "1"},
    ],
    "issues": [
        {"issue_id": "GD0101", "community_code": COMM, "grid_code": GRID, "source": "群众来访",
         "category": "矛盾纠纷", "reported_at": "2026-04-01 08:00", "due_at": "2026-04-03 08:00",
         "responded_at": "2026-04-01 09:30", "closed_at": "2026-04-02 17:00", "resolved": "否",
         "satisfaction": "不满意"},
        {"issue_id": "GD0102", "community_code": COMM2, "grid_code": GRID2, "source": "",
         "category": "环境卫生", "reported_at": "2026-04-02 08:00", "due_at": "2026-04-05 08:00",
         "responded_at": "", "closed_at": "", "resolved": "", "satisfaction": ""},
    ],
    "pairings": [
        {"pairing_id": "JD101", "partner_name": "市税务局", "partner_level": "市直",
         "community_code": COMM2, "started_on": "2026/2/1", "ended_on": "2026年12月31日"},
        {"pairing_id": "JD102", "partner_name": "东华医院党委", "partner_level": "驻区单位",
         "community_code": COMM, "started_on": "2026-03-01", "ended_on": ""},
    ],
    "projects": [
        {"project_id": "XM101", "pairing_id": PAIRING, "title": "社区食堂", "kind": "民生实事",
         "due_on": "2026-05-31", "completed_on": "2026-05-20", "status": "已完成"},
        {"project_id": "XM102", "pairing_id": PAIRING, "title": "党群服务阵地", "kind": "阵地建设",
         "due_on": "2026-09-30", "completed_on": "", "status": "未启动"},
    ],
    "checkins": [
        {"period": "2026-04", "community_code": COMM, "units_reported": "13",
         "members_reported": "90", "activities": "3", "service_hours": ""},
        {"period": "2026-04", "community_code": COMM2, "units_reported": "5",
         "members_reported": "31", "activities": "2", "service_hours": "12"},
    ],
    "targets": [
        {"year": "2026", "metric": "办结率", "unit_code": DISTRICT, "target": "0.96"},
        {"year": "2026", "metric": "response_rate", "unit_code": STREET, "target": "90%"},
    ],
    # 重点任务督办: a whole-city task (no unit code) and a street's (kind empty → 其他)
    "tasks": [
        {"task_id": "RW101", "title": "一刻钟便民生活圈", "kind": "重点民生项目", "owner": "市商务局",
         "unit_code": "", "due_on": "2026/9/30", "status": "已完成", "completed_on": "2026年9月28日",
         "progress": "100%", "acceptance": "便民网点覆盖率达到90%"},
        {"task_id": "RW102", "title": "网格党支部全覆盖", "kind": "", "owner": "东华街道党工委",
         "unit_code": STREET, "due_on": "2026-12-31", "status": "未启动", "completed_on": "",
         "progress": "", "acceptance": "每个网格建立党支部"},
    ],
}

# A template for the bad row: valid, with a key no other row uses; each case overrides a field.
BAD_BASE: dict[str, dict] = {
    "units": {"code": "990101002002", "name": "西城二社区", "level": "社区", "parent_code": "990101002"},
    "organizations": {"period": "2026-05", "org_id": ORG3, "org_name": "南华物流有限公司",
                      "org_type": "非公企业", "sector": "新就业群体", "community_code": COMM,
                      "employees": "40", "party_members": "2", "party_org": "联合组建",
                      "instructor": "否", "operating": "是"},
    "issues": {"issue_id": "GD0199", "community_code": COMM, "grid_code": GRID, "source": "部门交办",
               "category": "违章搭建", "reported_at": "2026-04-03 10:00", "due_at": "2026-04-06 10:00",
               "responded_at": "2026-04-03 11:00", "closed_at": "2026-04-04 10:00",
               "resolved": "Y", "satisfaction": "基本满意"},
    "pairings": {"pairing_id": "JD199", "partner_name": "区教育局", "partner_level": "区直",
                 "community_code": COMM, "started_on": "2026-04-01", "ended_on": ""},
    "projects": {"project_id": "XM199", "pairing_id": PAIRING, "title": "志愿服务站", "kind": "志愿服务",
                 "due_on": "2026-08-31", "completed_on": "", "status": "推进中"},
    "checkins": {"period": "2026-05", "community_code": COMM2, "units_reported": "6",
                 "members_reported": "32", "activities": "1", "service_hours": "4"},
    "targets": {"year": "2027", "metric": "satisfaction_rate", "unit_code": "", "target": "0.9"},
    "tasks": {"task_id": "RW199", "title": "背街小巷整治", "kind": "重点任务", "owner": "区城管局",
              "unit_code": STREET, "due_on": "2026-10-31", "status": "推进中", "completed_on": "",
              "progress": "0.5", "acceptance": "整治清单全部销号"},
}


# 网格与小区: the grid and compound snapshots, in a block of their own.
HEADERS |= {
    "grids": [
        ("period", "统计月份"), ("grid_code", "网格代码"), ("grid_party_org", "网格党组织"),
        ("grid_leader", "是否配备网格长"), ("fulltime_workers", "专职网格员数（人）"),
        ("parttime_workers", "兼职网格员数"), ("households", "户数（户）"),
    ],
    "compounds": [
        ("period", "统计月份"), ("compound_id", "小区编号"), ("compound_name", "小区名称"),
        ("community_code", "所属社区代码"), ("households", "户数"),
        ("party_members_resident", "居住党员数"), ("party_org", "小区党组织"),
        ("property_service", "物业服务"), ("owners_committee", "是否成立业委会"),
        ("model_compound", "是否示范小区"), ("heads_area", "片长数"), ("heads_group", "组长数"),
        ("heads_neighbor", "邻长数"),
    ],
}
BASELINE_ROWS |= {
    "grids": [
        {"period": "2026-03", "grid_code": GRID, "grid_party_org": "网格党支部", "grid_leader": "是",
         "fulltime_workers": "1", "parttime_workers": "2", "households": "420"},
        {"period": "2026-03", "grid_code": GRID2, "grid_party_org": "未建", "grid_leader": "",
         "fulltime_workers": "0", "parttime_workers": "1", "households": "380"},
    ],
    "compounds": [
        {"period": "2026-03", "compound_id": "XQ001", "compound_name": "东华小区",
         "community_code": COMM, "households": "860", "party_members_resident": "23",
         "party_org": "小区党支部", "property_service": "红色物业", "owners_committee": "是",
         "model_compound": "是", "heads_area": "4", "heads_group": "16", "heads_neighbor": "72"},
    ],
}
GOOD_ROWS |= {
    "grids": [
        {"period": "2026-04", "grid_code": GRID, "grid_party_org": "党支部", "grid_leader": "Y",
         "fulltime_workers": "1", "parttime_workers": "3", "households": "1,020"},
        {"period": "2026年4月", "grid_code": GRID2, "grid_party_org": "网格党小组",
         "grid_leader": "", "fulltime_workers": "０", "parttime_workers": "1", "households": "0"},
    ],
    "compounds": [
        {"period": "2026-04", "compound_id": "XQ001", "compound_name": "东华小区",
         "community_code": COMM, "households": "860", "party_members_resident": "24",
         "party_org": "小区党支部", "property_service": "红色物业", "owners_committee": "是",
         "model_compound": "", "heads_area": "4", "heads_group": "16", "heads_neighbor": "72"},
        {"period": "2026-04", "compound_id": "XQ002", "compound_name": "西华新村",
         "community_code": COMM2, "households": "0", "party_members_resident": "0",
         "party_org": "未建", "property_service": "无", "owners_committee": "",
         "model_compound": "否", "heads_area": "0", "heads_group": "0", "heads_neighbor": "0"},
    ],
}
BAD_BASE |= {
    "grids": {"period": "2026-05", "grid_code": GRID, "grid_party_org": "网格党小组",
              "grid_leader": "否", "fulltime_workers": "0", "parttime_workers": "2",
              "households": "300"},
    "compounds": {"period": "2026-05", "compound_id": "XQ199", "compound_name": "南华苑",
                  "community_code": COMM, "households": "240", "party_members_resident": "3",
                  "party_org": "楼栋党小组", "property_service": "自管", "owners_committee": "否",
                  "model_compound": "否", "heads_area": "1", "heads_group": "4",
                  "heads_neighbor": "20"},
}


def header_list(table: str) -> list[str]:
    return [h for _, h in HEADERS[table]]


def row_list(table: str, row: dict) -> list:
    return [row.get(c, "") for c, _ in HEADERS[table]]


def table_csv(table: str, rows: list[dict], **kw) -> bytes:
    return csv_bytes(header_list(table), [row_list(table, r) for r in rows], **kw)


def baseline_files() -> dict[str, tuple[str, bytes]]:
    """A valid file per table (dependency order), each as an analyst would upload it."""
    return {t: (f"{t}.csv", table_csv(t, BASELINE_ROWS[t])) for t in BASELINE_ROWS}


_BASELINE_DIR: Path | None = None


def baseline_dir() -> Path:
    """A published baseline data dir, built once per test process (in a temporary folder removed
    at exit). Tests copy it (shutil.copytree) and never write to it."""
    global _BASELINE_DIR
    if _BASELINE_DIR is None:
        from metrics.settings import Settings
        from metrics.store.versions import Store

        tmp = Path(tempfile.mkdtemp(prefix="gridboard-baseline-"))
        atexit.register(shutil.rmtree, tmp, True)
        build_baseline(Store(tmp / "data"), Settings())
        _BASELINE_DIR = tmp / "data"
    return _BASELINE_DIR


def build_baseline(store, settings) -> None:
    """Publish the baseline into ``store`` (every table, so references resolve and every table
    has a current version a faulty rejection could disturb)."""
    from metrics.store.ingest import Source, ingest

    for table, (file_name, content) in baseline_files().items():
        ingest(store, table, Source(file_name, content=content), user="baseline",
               settings=settings)


# --- the bad files ----------------------------------------------------------------------------


def _case(name: str, table: str, column: str, reason: str, /, *, fmt: str = "csv",
          position: int = 2, title_rows: list[str] | None = None, **overrides) -> BadFile:
    """Good rows with one bad row (BAD_BASE + overrides) at data position ``position``.

    ``column`` is the column name; the expected column substring is its header in the file
    ``title_rows`` go above the header."""
    bad = {**BAD_BASE[table], **overrides}
    rows = list(GOOD_ROWS[table])
    rows.insert(position, bad)
    title = title_rows
    title_lines = len(title or [])
    expected_row = 1 + title_lines + 1 + position
    if fmt == "csv":
        content = table_csv(table, rows, title=title)
        file_name = f"{name}.csv"
    else:
        content = xlsx_bytes(header_list(table), [row_list(table, r) for r in rows], title=title)
        file_name = f"{name}.xlsx"
    return BadFile(name, table, file_name, content, expected_row, header_of(table, column), reason)


def _units() -> list[BadFile]:
    t = "units"
    return [
        _case("units_code_not_digits", t, "code", "只能是数字", code="99010100200A"),
        _case("units_code_length_wrong_for_level", t, "code", "位数", code="9901010020021"),
        _case("units_name_empty", t, "name", "必填", name=""),
        _case("units_level_unknown", t, "level", "取值不在允许范围内", level="小区"),
        _case("units_district_with_parent", t, "parent_code", "应留空",
              code="990109", level="区县", parent_code=DISTRICT),
        _case("units_street_without_parent", t, "parent_code", "必须填写上级代码",
              code="990101003", level="街道", parent_code=""),
        _case("units_parent_missing", t, "parent_code", "不存在",
              code="990101009001", parent_code="990101009"),
        _case("units_parent_not_one_level_up", t, "parent_code", "不是上一级",
              code="990101001003", parent_code=DISTRICT),
        _case("units_code_not_under_parent", t, "code", "以上级代码开头",
              code="990102001001", parent_code="990101002"),
        _case("units_grid_parent_is_street", t, "parent_code", "不是上一级",
              code="990101002001001", level="网格", parent_code="990101002"),
    ]


def _organizations() -> list[BadFile]:
    t = "organizations"
    return [
        _case("organizations_period_empty", t, "period", "必填", period=""),
        _case("organizations_period_impossible_month", t, "period", "月份不存在", period="2026-13"),
        _case("organizations_org_id_17_chars", t, "org_id", "18位", org_id=ORG3[:17]),
        _case("organizations_org_id_letter_I", t, "org_id", "18位",
              org_id="91990101MI0000003" + ORG3[-1]),
        _case("organizations_org_id_lowercase", t, "org_id", "18位", org_id=ORG3.lower()),
        _case("organizations_org_id_empty", t, "org_id", "必填", org_id=""),
        _case("organizations_org_name_empty", t, "org_name", "必填", org_name=""),
        _case("organizations_org_type_unknown", t, "org_type", "取值不在允许范围内", org_type="国有企业"),
        _case("organizations_sector_unknown", t, "sector", "取值不在允许范围内", sector="制造业"),
        _case("organizations_community_unknown", t, "community_code", "社区代码不存在",
              community_code="990101001009"),
        _case("organizations_community_is_a_street", t, "community_code", "社区代码不存在",
              community_code=STREET),
        _case("organizations_employees_negative", t, "employees", "不能为负数", employees="-1"),
        _case("organizations_employees_fraction", t, "employees", "整数", employees="12.5"),
        _case("organizations_employees_text", t, "employees", "整数", employees="很多"),
        _case("organizations_employees_empty", t, "employees", "必填", employees=""),
        _case("organizations_party_members_negative", t, "party_members", "不能为负数",
              party_members="-2"),
        _case("organizations_party_org_unknown", t, "party_org", "取值不在允许范围内",
              party_org="已组建"),
        _case("organizations_instructor_not_boolean", t, "instructor", "是/否", instructor="可能"),
        _case("organizations_operating_not_boolean", t, "operating", "是/否", operating="空壳"),
    ]


def _issues() -> list[BadFile]:
    t = "issues"
    return [
        _case("issues_id_empty", t, "issue_id", "必填", issue_id=""),
        _case("issues_community_unknown", t, "community_code", "社区代码不存在",
              community_code="990101001009", grid_code=""),
        _case("issues_community_empty", t, "community_code", "必填", community_code="", grid_code=""),
        _case("issues_grid_unknown", t, "grid_code", "网格代码不存在", grid_code="990101001001009"),
        _case("issues_grid_of_other_community", t, "grid_code", "不属于", grid_code=GRID2),
        _case("issues_source_unknown", t, "source", "取值不在允许范围内", source="微信"),
        _case("issues_category_empty", t, "category", "必填", category=""),
        _case("issues_reported_at_empty", t, "reported_at", "必填", reported_at=""),
        _case("issues_reported_at_unreadable", t, "reported_at", "日期时间格式", reported_at="昨天下午"),
        _case("issues_due_at_empty", t, "due_at", "必填", due_at=""),
        _case("issues_due_before_reported", t, "due_at", "早于上报时间", due_at="2026-04-03 09:59"),
        _case("issues_responded_before_reported", t, "responded_at", "早于上报时间",
              responded_at="2026-04-02 23:00"),
        _case("issues_closed_before_reported", t, "closed_at", "早于上报时间",
              closed_at="2026-04-03 09:00:00"),
        _case("issues_closed_at_impossible_date", t, "closed_at", "日期不存在", closed_at="2026-04-31 10:00"),
        _case("issues_resolved_not_boolean", t, "resolved", "是/否", resolved="不知道"),
        _case("issues_satisfaction_unknown", t, "satisfaction", "取值不在允许范围内",
              satisfaction="非常满意"),
        _case("issues_code_read_as_float_text", t, "community_code", "数字",
              community_code="990101001001.0", grid_code=""),
    ]


def _pairings() -> list[BadFile]:
    t = "pairings"
    return [
        _case("pairings_partner_name_empty", t, "partner_name", "必填", partner_name=""),
        _case("pairings_partner_level_unknown", t, "partner_level", "取值不在允许范围内",
              partner_level="国家级"),
        _case("pairings_community_unknown", t, "community_code", "社区代码不存在",
              community_code="990101001009"),
        _case("pairings_started_on_empty", t, "started_on", "必填", started_on=""),
        _case("pairings_started_on_impossible_date", t, "started_on", "日期不存在",
              started_on="2026-02-30"),
        _case("pairings_ended_before_started", t, "ended_on", "早于结对日期", ended_on="2026/3/31"),
    ]


def _projects() -> list[BadFile]:
    t = "projects"
    return [
        _case("projects_pairing_unknown", t, "pairing_id", "结对编号不存在", pairing_id="JD999"),
        _case("projects_title_empty", t, "title", "必填", title=""),
        _case("projects_kind_unknown", t, "kind", "取值不在允许范围内", kind="文化活动"),
        _case("projects_due_on_empty", t, "due_on", "必填", due_on=""),
        _case("projects_completed_on_unreadable", t, "completed_on", "日期格式",
              completed_on="下周"),
        _case("projects_due_on_november_31", t, "due_on", "日期不存在", due_on="2026-11-31"),
        _case("projects_status_unknown", t, "status", "取值不在允许范围内", status="暂停"),
        _case("projects_done_without_completed_on", t, "completed_on", "必须填写",
              status="已完成", completed_on=""),
        _case("projects_completed_on_without_done", t, "status", "应为已完成",
              status="推进中", completed_on="2026-07-01"),
    ]


def _checkins() -> list[BadFile]:
    t = "checkins"
    return [
        _case("checkins_period_empty", t, "period", "必填", period=""),
        _case("checkins_community_unknown", t, "community_code", "社区代码不存在",
              community_code="990101001009"),
        _case("checkins_units_reported_negative", t, "units_reported", "不能为负数", units_reported="-1"),
        _case("checkins_members_reported_negative", t, "members_reported", "不能为负数",
              members_reported="-3"),
        _case("checkins_activities_negative", t, "activities", "不能为负数", activities="-1"),
        _case("checkins_activities_fraction", t, "activities", "整数", activities="1.5"),
        _case("checkins_activities_empty", t, "activities", "必填", activities=""),
        _case("checkins_service_hours_negative", t, "service_hours", "不能为负数", service_hours="-0.5"),
        _case("checkins_service_hours_not_number", t, "service_hours", "数值", service_hours="半天"),
    ]


def _targets() -> list[BadFile]:
    t = "targets"
    return [
        _case("targets_year_before_2000", t, "year", "2000", year="1999"),
        _case("targets_year_after_2100", t, "year", "2100", year="2101"),
        _case("targets_year_not_integer", t, "year", "整数", year="二〇二六"),
        _case("targets_metric_not_a_rate", t, "metric", "取值不在允许范围内", metric="reported"),
        _case("targets_metric_unknown", t, "metric", "取值不在允许范围内", metric="幸福指数"),
        _case("targets_unit_is_a_community", t, "unit_code", "区县或街道", unit_code=COMM),
        _case("targets_unit_unknown", t, "unit_code", "区县或街道", unit_code="990199"),
        _case("targets_target_above_one", t, "target", "0–1", target="1.2"),
        _case("targets_target_percent_above_100", t, "target", "0–1", target="120%"),
        _case("targets_target_negative", t, "target", "0–1", target="-5%"),
        _case("targets_target_not_number", t, "target", "数值", target="高"),
    ]


def _grids() -> list[BadFile]:
    t = "grids"
    return [
        _case("grids_period_empty", t, "period", "必填", period=""),
        _case("grids_period_impossible_month", t, "period", "月份不存在", period="2026-00"),
        _case("grids_grid_code_empty", t, "grid_code", "必填", grid_code=""),
        _case("grids_grid_code_unknown", t, "grid_code", "网格代码不存在",
              grid_code="990101001001009"),
        _case("grids_grid_code_is_a_community", t, "grid_code", "网格代码不存在", grid_code=COMM),
        _case("grids_party_org_unknown", t, "grid_party_org", "取值不在允许范围内",
              grid_party_org="联合组建"),
        _case("grids_party_org_empty", t, "grid_party_org", "必填", grid_party_org=""),
        _case("grids_leader_not_boolean", t, "grid_leader", "是/否", grid_leader="待定"),
        _case("grids_fulltime_negative", t, "fulltime_workers", "不能为负数", fulltime_workers="-1"),
        _case("grids_fulltime_fraction", t, "fulltime_workers", "整数", fulltime_workers="0.5"),
        _case("grids_parttime_negative", t, "parttime_workers", "不能为负数", parttime_workers="-2"),
        _case("grids_parttime_empty", t, "parttime_workers", "必填", parttime_workers=""),
        _case("grids_households_negative", t, "households", "不能为负数", households="-300"),
        _case("grids_households_text", t, "households", "整数", households="约300户"),
    ]


def _compounds() -> list[BadFile]:
    t = "compounds"
    return [
        _case("compounds_period_empty", t, "period", "必填", period=""),
        _case("compounds_id_empty", t, "compound_id", "必填", compound_id=""),
        _case("compounds_name_empty", t, "compound_name", "必填", compound_name=""),
        _case("compounds_community_unknown", t, "community_code", "社区代码不存在",
              community_code="990101001009"),
        _case("compounds_community_is_a_grid", t, "community_code", "社区代码不存在",
              community_code=GRID),
        _case("compounds_households_negative", t, "households", "不能为负数", households="-1"),
        _case("compounds_members_negative", t, "party_members_resident", "不能为负数",
              party_members_resident="-3"),
        _case("compounds_members_fraction", t, "party_members_resident", "整数",
              party_members_resident="2.5"),
        _case("compounds_party_org_unknown", t, "party_org", "取值不在允许范围内",
              party_org="联合党支部"),
        _case("compounds_property_unknown_xlsx", t, "property_service", "取值不在允许范围内",
              fmt="xlsx", property_service="物业托管"),
        _case("compounds_property_empty", t, "property_service", "必填", property_service=""),
        _case("compounds_owners_committee_not_boolean", t, "owners_committee", "是/否",
              owners_committee="筹备中"),
        _case("compounds_model_not_boolean", t, "model_compound", "是/否", model_compound="市级"),
        _case("compounds_heads_area_negative", t, "heads_area", "不能为负数", heads_area="-1"),
        _case("compounds_heads_group_empty", t, "heads_group", "必填", heads_group=""),
        _case("compounds_heads_neighbor_text", t, "heads_neighbor", "整数", heads_neighbor="二十"),
    ]


def _tasks() -> list[BadFile]:
    t = "tasks"
    return [
        _case("tasks_title_empty", t, "title", "必填", title=""),
        _case("tasks_kind_unknown", t, "kind", "取值不在允许范围内", kind="临时任务"),
        _case("tasks_owner_empty", t, "owner", "必填", owner=""),
        _case("tasks_unit_is_a_community", t, "unit_code", "区县或街道", unit_code=COMM),
        _case("tasks_unit_unknown", t, "unit_code", "区县或街道", unit_code="990199"),
        _case("tasks_unit_code_read_as_float", t, "unit_code", "数字", unit_code="990101.0"),
        _case("tasks_due_on_empty", t, "due_on", "必填", due_on=""),
        _case("tasks_due_on_unreadable", t, "due_on", "日期格式", due_on="年底前"),
        _case("tasks_due_on_november_31_xlsx", t, "due_on", "日期不存在", fmt="xlsx",
              due_on="2026年11月31日"),
        _case("tasks_due_on_february_30", t, "due_on", "日期不存在", due_on="2026/2/30"),
        _case("tasks_status_empty", t, "status", "必填", status=""),
        _case("tasks_status_unknown", t, "status", "取值不在允许范围内", status="暂停"),
        _case("tasks_done_without_completed_on", t, "completed_on", "必须填写",
              status="已完成", completed_on="", progress="1"),
        _case("tasks_completed_on_without_done", t, "status", "应为已完成",
              status="推进中", completed_on="2026-07-01"),
        _case("tasks_completed_on_unreadable", t, "completed_on", "日期格式",
              status="已完成", completed_on="上周", progress="1"),
        _case("tasks_progress_above_one", t, "progress", "0–1", progress="120%"),
        _case("tasks_progress_negative", t, "progress", "0–1", progress="-0.1"),
        _case("tasks_progress_not_number", t, "progress", "数值", progress="过半"),
        _case("tasks_title_with_mobile_number", t, "title", "个人信息",
              title=f"背街小巷整治(联系{PII_PHONE})"),
        _case("tasks_acceptance_with_id_number", t, "acceptance", "个人信息",
              acceptance=f"经{PII_ID}签字确认"),
        _case("tasks_owner_with_mobile_number", t, "owner", "个人信息", owner=f"区城管局{PII_PHONE}"),
        _case("tasks_xlsx_title_row", t, "unit_code", "区县或街道", fmt="xlsx",
              title_rows=["2026年重点任务督办台账"], unit_code=GRID),
    ]


def _missing_columns() -> list[BadFile]:
    """A file lacking a required column: reported on the header row, by the column's label."""
    out = []
    for table, column in (("units", "level"), ("organizations", "org_type"), ("issues", "reported_at"),
                          ("pairings", "started_on"), ("projects", "status"),
                          ("checkins", "activities"), ("targets", "target"),
                          ("grids", "grid_code"), ("compounds", "property_service"),
                          ("tasks", "due_on"), ("tasks", "owner")):
        keep = [(c, h) for c, h in HEADERS[table] if c != column]
        rows = [[r.get(c, "") for c, _ in keep] for r in GOOD_ROWS[table]]
        content = csv_bytes([h for _, h in keep], rows)
        out.append(BadFile(f"{table}_missing_column_{column}", table,
                           f"{table}_missing_{column}.csv", content, 1,
                           header_of(table, column).split("（")[0], "缺少必填列"))
    return out


def _formats() -> list[BadFile]:
    """The same kinds of error in the other forms an extract arrives in."""
    out = [
        # A title row above the header shifts every row number by one.
        _case("issues_csv_title_row", "issues", "community_code", "社区代码不存在",
              title_rows=["2026年4月网格事件工单导出"], community_code="990101001009", grid_code=""),
        _case("projects_xlsx_title_row", "projects", "kind", "取值不在允许范围内", fmt="xlsx",
              title_rows=["共建项目清单(2026年)"], kind="文化活动"),
        _case("pairings_xlsx_bad_date", "pairings", "ended_on", "早于结对日期", fmt="xlsx",
              ended_on="2026-03-01"),
    ]
    # XLSX code column stored as numbers: the code is an error (leading zeros are lost).
    t = "issues"
    rows = [row_list(t, r) for r in GOOD_ROWS[t]]
    bad = row_list(t, {**BAD_BASE[t], "grid_code": ""})
    bad[1] = int(COMM)  # numeric community code cell
    rows.append(bad)
    out.append(BadFile("issues_xlsx_code_as_number", t, "issues_numeric_code.xlsx",
                       xlsx_bytes(header_list(t), rows), 4, "所属社区代码", "数字"))
    t = "checkins"
    rows = [row_list(t, r) for r in GOOD_ROWS[t]]
    bad = row_list(t, BAD_BASE[t])
    bad[1] = float(COMM2)
    rows.insert(0, bad)
    out.append(BadFile("checkins_xlsx_code_as_float", t, "checkins_numeric_code.xlsx",
                       xlsx_bytes(header_list(t), rows, title=["双报到月报"], blank_after_title=True),
                       4, "社区代码", "数字"))
    # XLSX with real date cells and numeric cells, one datetime earlier than reported.
    import datetime as dt
    t = "issues"
    rows = []
    for r in GOOD_ROWS[t]:
        rows.append(row_list(t, r))
    bad = row_list(t, BAD_BASE[t])
    bad[5] = dt.datetime(2026, 4, 3, 10, 0)
    bad[6] = dt.datetime(2026, 4, 6, 10, 0)
    bad[8] = 46114.25  # 2026-04-02 06:00 as an Excel serial: before reported_at
    rows.append(bad)
    out.append(BadFile("issues_xlsx_serial_closed_before_reported", t, "issues_dates.xlsx",
                       xlsx_bytes(header_list(t), rows), 4, "办结时间", "早于上报时间"))
    # XLSX whose table starts at B3 (two empty rows above): rows are still counted from row 1.
    t = "pairings"
    wb = openpyxl.Workbook()
    ws = wb.active
    for j, h in enumerate(header_list(t)):
        ws.cell(row=3, column=2 + j, value=h)
    for i, r in enumerate([*GOOD_ROWS[t], {**BAD_BASE[t], "partner_level": "国家级"}]):
        for j, v in enumerate(row_list(t, r)):
            ws.cell(row=4 + i, column=2 + j, value=v or None)
    buf = io.BytesIO()
    wb.save(buf)
    out.append(BadFile("pairings_xlsx_table_at_b3", t, "pairings_b3.xlsx", buf.getvalue(), 6,
                       "单位层级", "取值不在允许范围内"))
    # XLSX whose first sheet is an instruction sheet: the data sheet is found by its headers.
    t = "issues"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "填写说明"
    ws.append(["说明：每张工单一行"])
    ws.append(["工单编号", "必填，唯一"])
    data = wb.create_sheet("工单")
    data.append(header_list(t))
    for r in [GOOD_ROWS[t][0], {**BAD_BASE[t], "satisfaction": "很好"}]:
        data.append(row_list(t, r))
    buf = io.BytesIO()
    wb.save(buf)
    out.append(BadFile("issues_xlsx_data_on_second_sheet", t, "issues_2sheets.xlsx", buf.getvalue(),
                       3, "满意度", "取值不在允许范围内"))
    # GBK-encoded CSV (what Chinese Excel saves) with an error in a Chinese value.
    t = "organizations"
    rows = [*GOOD_ROWS[t], {**BAD_BASE[t], "org_type": "个体工商户"}]
    out.append(BadFile("organizations_gbk_csv", t, "台账_GBK.csv",
                       table_csv(t, rows, encoding="gbk"), 2 + len(GOOD_ROWS[t]), "单位类型",
                       "取值不在允许范围内"))
    # UTF-8 with BOM: the first header must still be recognised (not "\ufeff工单编号").
    t = "issues"
    rows = [{**BAD_BASE[t], "source": "短信"}, *GOOD_ROWS[t]]
    out.append(BadFile("issues_utf8_bom_csv", t, "工单_BOM.csv",
                       table_csv(t, rows, bom=True), 2, "来源", "取值不在允许范围内"))
    # A blank line inside the data still counts as a row the analyst sees.
    t = "pairings"
    rows = [*GOOD_ROWS[t], {**BAD_BASE[t], "partner_level": "街道"}]
    out.append(BadFile("pairings_blank_line_before_bad_row", t, "pairings_blank.csv",
                       table_csv(t, rows, blank_before=2), 5, "单位层级", "取值不在允许范围内"))
    # English headers: the column is reported as headed in the file.
    t = "checkins"
    rows = [*GOOD_ROWS[t], {**BAD_BASE[t], "members_reported": "-7"}]
    content = csv_bytes([c for c, _ in HEADERS[t]], [row_list(t, r) for r in rows])
    out.append(BadFile("checkins_english_headers", t, "checkins_en.csv", content, 4,
                       "members_reported", "不能为负数"))
    # Parquet: no header row, the first record is row 1.
    t = "targets"
    frame = pd.DataFrame([
        {"year": 2026, "metric": "close_rate", "unit_code": DISTRICT, "target": 0.9},
        {"year": 2026, "metric": "on_time_rate", "unit_code": None, "target": 1.5},
        {"year": 2026, "metric": "response_rate", "unit_code": STREET, "target": 0.8},
    ])
    out.append(BadFile("targets_parquet_target_above_one", t, "targets.parquet",
                       parquet_bytes(frame), 2, "target", "0–1"))
    frame = pd.DataFrame({
        "issue_id": ["GD0301", "GD0302"], "community_code": [COMM, COMM],
        "source": ["其他", "其他"], "category": ["物业管理", "物业管理"],
        "reported_at": pd.to_datetime(["2026-04-01 10:00", "2026-04-01 10:00"]),
        "due_at": pd.to_datetime(["2026-04-02 10:00", "2026-03-31 10:00"]),
    })
    out.append(BadFile("issues_parquet_due_before_reported", "issues", "issues.parquet",
                       parquet_bytes(frame), 2, "due_at", "早于上报时间"))
    frame = pd.DataFrame({"code": [990101003], "name": ["南城街道"], "level": ["street"],
                          "parent_code": [DISTRICT]})
    out.append(BadFile("units_parquet_code_as_integer", "units", "units.parquet",
                       parquet_bytes(frame), 1, "code", "数字"))
    return out


def _broken() -> list[BadFile]:
    """Files that cannot be read at all: one clean rejection with a Chinese message."""
    t = "issues"
    good_xlsx = xlsx_bytes(header_list(t), [row_list(t, r) for r in GOOD_ROWS[t]])
    frame = pd.DataFrame({"issue_id": [f"GD{i:05d}" for i in range(2000)],
                          "category": ["物业管理"] * 2000})
    good_parquet = parquet_bytes(frame)
    rng = random.Random(20260305)
    garbage = bytes(rng.randrange(256) for _ in range(3000))
    garbage = garbage[:100] + b"\x00\x01\x02" + garbage[100:]
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(rng.randrange(256) for _ in range(2000))
    return [
        BadFile("empty_file", t, "empty.csv", b"", None, "", "文件为空"),
        BadFile("whitespace_only_file", t, "blank.csv", b"\r\n \r\n\t\r\n", None, "", "文件为空"),
        BadFile("header_only_csv", t, "header_only.csv", csv_bytes(header_list(t), []), None, "",
                "没有数据行"),
        BadFile("header_only_xlsx", t, "header_only.xlsx", xlsx_bytes(header_list(t), []), None, "",
                "没有数据行"),
        BadFile("truncated_xlsx", t, "truncated.xlsx", good_xlsx[: len(good_xlsx) // 2], None, "",
                "损坏"),
        BadFile("binary_garbage", t, "garbage.csv", garbage, None, "", "不是文本文件"),
        BadFile("old_xls_ole_file", t, "old.xls", ole, None, "", ".xls"),
        BadFile("parquet_cut_in_half", t, "half.parquet", good_parquet[: len(good_parquet) // 2],
                None, "", "损坏"),
        BadFile("parquet_zero_rows", t, "zero.parquet", parquet_bytes(frame.iloc[:0]), None, "",
                "没有数据行"),
    ]


def bad_files() -> list[BadFile]:
    """Every single-bad-row file of every table, the other file forms, and unreadable files."""
    return [*_units(), *_organizations(), *_issues(), *_pairings(), *_projects(), *_checkins(),
            *_targets(), *_grids(), *_compounds(), *_tasks(), *_missing_columns(), *_formats(),
            *_broken()]


def _duplicate_case(name: str, table: str, column: str, reason: str, repeats: int,
                    **overrides) -> BadFile:
    """A file whose bad row (data position 2: row 4) repeats the key of good row ``repeats``:
    both rows are reported, each naming the other."""
    f = _case(name, table, column, reason, **overrides)
    return f._replace(expected_row=(2 + repeats, f.expected_row))


def duplicate_files() -> list[BadFile]:
    """One file per table whose key repeats: ``expected_row`` is both rows of the key."""
    return [
        _duplicate_case("units_duplicate_code", "units", "code", "重复", 1, code="990101002001"),
        _duplicate_case("organizations_org_id_duplicate_in_period", "organizations", "org_id",
                        "重复", 0, org_id=ORG1),
        _duplicate_case("issues_duplicate_id", "issues", "issue_id", "重复", 0, issue_id="GD0101"),
        _duplicate_case("pairings_duplicate_id", "pairings", "pairing_id", "重复", 0,
                        pairing_id="JD101"),
        _duplicate_case("projects_duplicate_id", "projects", "project_id", "重复", 0,
                        project_id="XM101"),
        _duplicate_case("checkins_duplicate_period_community", "checkins", "community_code",
                        "同一社区同一月份", 0, period="2026-04", community_code=COMM),
        _duplicate_case("targets_duplicate_year_metric_unit", "targets", "metric", "重复", 0,
                        year="2026", metric="close_rate", unit_code=DISTRICT),
        _duplicate_case("grids_duplicate_period_grid", "grids", "grid_code", "同一网格同一月份", 1,
                        period="2026-04", grid_code=GRID2),
        _duplicate_case("compounds_id_duplicate_in_period", "compounds", "compound_id", "重复", 1,
                        period="2026-04", compound_id="XQ002"),
        _duplicate_case("tasks_duplicate_id", "tasks", "task_id", "重复", 0, task_id="RW101"),
    ]


def multi_row_bad_files() -> list[BadFile]:
    """Files with several bad rows: ``expected_row`` is the tuple of every bad row."""
    out = duplicate_files()
    t = "issues"
    rows = [
        GOOD_ROWS[t][0],
        {**BAD_BASE[t], "issue_id": "GD0201", "source": "微信"},  # row 3
        GOOD_ROWS[t][1],
        {**BAD_BASE[t], "issue_id": "GD0202", "category": ""},  # row 5
        {**BAD_BASE[t], "issue_id": "GD0203", "due_at": "2026-04-01 00:00"},  # row 6
    ]
    out.append(BadFile("issues_three_bad_rows", t, "issues_3_bad.csv", table_csv(t, rows),
                       (3, 5, 6), "", ""))
    t = "units"
    rows = [
        {"code": "990101004", "name": "北城街道", "level": "街道", "parent_code": DISTRICT},
        {"code": "990101004001", "name": "", "level": "社区", "parent_code": "990101004"},  # 3
        {"code": "990101004002", "name": "", "level": "社区", "parent_code": "990101004"},  # 4
        {"code": "990101004003", "name": "北三社区", "level": "社区", "parent_code": "990101004"},
        {"code": "990101004004", "name": "", "level": "社区", "parent_code": "990101004"},  # 6
    ]
    out.append(BadFile("units_three_empty_names", t, "units_3_bad.csv", table_csv(t, rows),
                       (3, 4, 6), "名称", "必填"))
    t = "checkins"
    rows = [
        ["2026-06", COMM, "1", "2", "3", ""],
        ["2026-06", COMM2, "-1", "2", "3", ""],  # row 4 (a title row above the header)
        ["2026-07", COMM, "1", "-2", "3", ""],  # row 5
        ["2026-07", COMM2, "1", "2", "3", "-1"],  # row 6
    ]
    out.append(BadFile("checkins_three_negatives_title_row", t, "checkins_3_bad.csv",
                       csv_bytes(header_list(t), rows, title=["双报到月报 2026年6-7月"]),
                       (4, 5, 6), "", "不能为负数"))
    t = "tasks"
    rows = [
        GOOD_ROWS[t][0],
        {**BAD_BASE[t], "task_id": "RW201", "status": "已完成", "completed_on": "", "progress": "1"},  # 3
        GOOD_ROWS[t][1],
        {**BAD_BASE[t], "task_id": "RW202", "completed_on": "2026-08-01"},  # 5: not 已完成
        {**BAD_BASE[t], "task_id": "RW203", "status": "已终止", "completed_on": "2026-08-02"},  # 6
    ]
    out.append(BadFile("tasks_three_completion_mismatches", t, "tasks_3_bad.csv",
                       table_csv(t, rows), (3, 5, 6), "", "完成"))
    return out


def warning_files() -> list[BadFile]:
    """Files that are published, with one warning on ``expected_row``."""
    t = "organizations"
    return [
        BadFile("organizations_credit_code_check_digit", t, "orgs_check.csv",
                table_csv(t, [*GOOD_ROWS[t], {**BAD_BASE[t], "org_id": ORG_BAD_CHECK}]),
                2 + len(GOOD_ROWS[t]),
                "统一社会信用代码", "校验位"),
        BadFile("organizations_party_members_over_employees", t, "orgs_members.csv",
                table_csv(t, [{**BAD_BASE[t], "employees": "3", "party_members": "5"},
                              *GOOD_ROWS[t]]), 2, "正式党员数", "多于从业人员数"),
        BadFile("issues_resolved_on_open_order", "issues", "issues_open_resolved.csv",
                table_csv("issues", [*GOOD_ROWS["issues"],
                                     {**BAD_BASE["issues"], "closed_at": "", "resolved": "是"}]),
                4, "是否解决", "未办结"),
        BadFile("compounds_neighbor_heads_over_households", "compounds", "compounds_heads.csv",
                table_csv("compounds", [*GOOD_ROWS["compounds"],
                                        {**BAD_BASE["compounds"], "households": "12",
                                         "heads_neighbor": "13"}]),
                4, "邻长数", "多于小区户数"),
        # 重点任务督办
        BadFile("tasks_done_with_progress_below_full", "tasks", "tasks_progress.csv",
                table_csv("tasks", [*GOOD_ROWS["tasks"],
                                    {**BAD_BASE["tasks"], "status": "已完成",
                                     "completed_on": "2026-10-20", "progress": "90%"}]),
                4, "完成进度", "不足100%"),
        BadFile("tasks_acceptance_empty", "tasks", "tasks_no_acceptance.csv",
                table_csv("tasks", [{**BAD_BASE["tasks"], "acceptance": ""}, *GOOD_ROWS["tasks"]]),
                2, "检验标准", "未填写检验标准"),
        BadFile("tasks_owner_lists_several_units", "tasks", "tasks_owners.csv",
                table_csv("tasks", [*GOOD_ROWS["tasks"],
                                    {**BAD_BASE["tasks"], "owner": "区城管局、区住建局"}]),
                4, "责任单位", "多个单位"),
    ]


def pii_file(table: str = "issues", *, with_error: bool = False) -> tuple[str, bytes, list[str]]:
    """(file name, bytes, PII headers) for a file carrying residents' personal data."""
    pii_headers = ["反映人姓名", "手机号", "联系电话", "身份证号", "家庭住址"]
    values = [PII_NAME, PII_PHONE, PII_PHONE, PII_ID, PII_ADDRESS]
    rows = [dict(r) for r in GOOD_ROWS[table]]
    if with_error:
        rows.append({**BAD_BASE[table], "source": "微信"})
    header = [*header_list(table)[:2], *pii_headers, *header_list(table)[2:]]
    body = []
    for r in rows:
        cells = row_list(table, r)
        body.append([*cells[:2], *values, *cells[2:]])
    return f"{table}_pii.csv", csv_bytes(header, body), pii_headers

