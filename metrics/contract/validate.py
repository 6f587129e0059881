"""Validate a raw extract against the data contract.

``check`` maps headers, drops personal-data columns, parses every cell and applies every rule of
docs/contract/data-contract.md. It reports every problem (row as the analyst sees it, column as
headed in the file, the value, a Chinese reason), not only the first. Errors reject the file;
warnings keep the row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics.contract import credit_code
from metrics.contract import schema as S
from metrics.contract.parse import cell_text, parse_column
from metrics.contract.readers import RawFrame

MAX_PROBLEMS = 200_000  # beyond this a report is no more useful, only slower


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


@dataclass
class RefContext:
    """What stored tables the file's references are checked against."""

    units: pd.DataFrame | None = None  # code, level, parent_code of the current units
    pairing_ids: set[str] | None = None

    def codes(self, level: str) -> set[str]:
        if self.units is None or self.units.empty:
            return set()
        return set(self.units.loc[self.units["level"] == level, "code"])

    def grid_parent(self) -> dict[str, str]:
        if self.units is None or self.units.empty:
            return {}
        g = self.units[self.units["level"] == "grid"]
        return dict(zip(g["code"], g["parent_code"], strict=False))

    def grid_lookup(self) -> tuple[list, np.ndarray]:
        """``grid_parent()`` as (codes, parents) arrays, built once per units frame (a large
        file is checked in chunks against the same units)."""
        cached = self.__dict__.get("_grid_lookup")
        if cached is not None and cached[0] is self.units:
            return cached[1], cached[2]
        if self.units is None or self.units.empty:
            codes, parents = [], np.array([], dtype=object)
        else:
            g = self.units[self.units["level"] == "grid"]
            g = g.drop_duplicates("code", keep="last")  # dict(zip(…)): the last one wins
            codes = g["code"].to_numpy(dtype=object).tolist()
            parents = g["parent_code"].to_numpy(dtype=object)
        self.__dict__["_grid_lookup"] = (self.units, codes, parents)
        return codes, parents


@dataclass
class Checked:
    table: S.Table
    frame: pd.DataFrame  # typed, the contract's columns in order
    rows: pd.Series  # row numbers as in the file
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # header in file → column name
    ignored: list[str] = field(default_factory=list)  # headers matched to nothing
    dropped_pii: list[str] = field(default_factory=list)
    fmt: str = ""
    encoding: str | None = None
    sheet: str | None = None
    truncated: bool = False
    header_row: int | None = None  # the header's row in the file as found (None: Parquet)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Collector:
    def __init__(self, frame: RawFrame, header_of: dict[str, str], label_of: dict[str, str]):
        self.raw = frame
        self.header_of = header_of  # column name → header in the file
        self.label_of = label_of
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.truncated = False
        self.missing: set[str] = set()  # required columns the file lacks (reported already)

    def column_title(self, col: str) -> str:
        return self.header_of.get(col) or self.label_of.get(col, col)

    def add(self, mask: pd.Series | np.ndarray, col: str, reason: str | pd.Series, *,
            warning: bool = False, hide_value: bool = False) -> None:
        # A rule over a column with gaps yields NA where it cannot tell: not a problem there
        # (the empty cell is reported by its own rule).
        mask = pd.Series(mask).fillna(False).to_numpy(dtype=bool)
        if not mask.any():
            return
        target = self.warnings if warning else self.errors
        idx = np.flatnonzero(mask)
        room = MAX_PROBLEMS - len(target)
        if room <= 0:
            self.truncated = True
            return
        if len(idx) > room:
            idx = idx[:room]
            self.truncated = True
        header = self.header_of.get(col)
        values = self.raw.data[header].iloc[idx] if header in self.raw.data else None
        rows = self.raw.rows.iloc[idx].to_numpy()
        title = self.column_title(col)
        reasons = reason.iloc[idx].to_numpy() if isinstance(reason, pd.Series) else None
        for k in range(len(idx)):
            text = cell_text(values.iloc[k]) if values is not None else ""
            target.append(Problem(
                row=int(rows[k]),
                column=title,
                # A report (and the audit log) must not repeat personal data it refuses.
                value=_masked(text) if hide_value else text,
                reason=str(reasons[k]) if reasons is not None else reason,
            ))


def _masked(text: str) -> str:
    return _PERSONAL_NUMBER.sub(lambda m: m.group(0)[:3] + "*" * (len(m.group(0)) - 5)
                                + m.group(0)[-2:], text)


# A mobile number or a 身份证 number inside free text (digits not part of a longer number).
_PERSONAL_NUMBER = re.compile(r"(?<![0-9])(?:1[3-9][0-9]{9}|[1-9][0-9]{16}[0-9Xx])(?![0-9])")

def check(raw: RawFrame, table: S.Table, ctx: RefContext | None = None, *,
          check_keys: bool = True) -> Checked:
    """Validate one frame (a whole file, or one chunk of a large Parquet file with
    ``check_keys=False``: uniqueness across chunks is then checked on the staged rows)."""
    ctx = ctx or RefContext()
    index = S.header_index(table)
    header_of: dict[str, str] = {}
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    pii: list[str] = []
    dup_headers: list[tuple[str, str]] = []
    for h in raw.data.columns:
        key = S.normalize_header(h)
        if key in index:
            name = index[key]
            if name in header_of:
                dup_headers.append((h, name))
                continue
            header_of[name] = h
            mapping[h] = name
        elif S.is_pii_header(h, table):
            pii.append(h)
        else:
            ignored.append(h)
    # Personal data never goes further than this function.
    raw = RawFrame(raw.data.drop(columns=pii), raw.rows, raw.fmt, raw.encoding, raw.sheet,
                   raw.header_row, raw.notes)
    labels = {c.name: c.label for c in table.columns}
    col = _Collector(raw, header_of, labels)
    result = Checked(table=table, frame=pd.DataFrame(), rows=raw.rows, mapping=mapping,
                     ignored=ignored, dropped_pii=pii, fmt=raw.fmt, encoding=raw.encoding,
                     sheet=raw.sheet, header_row=raw.header_row or None)
    header_row = raw.header_row or None
    for h, name in dup_headers:
        col.errors.append(Problem(header_row, h, h,
                                  f"与“{header_of[name]}”重复，都对应“{labels[name]}”，请只保留一列"))
    missing = [c for c in table.columns if c.name not in header_of and c.required]
    for c in missing:
        col.errors.append(Problem(header_row, c.label, "",
                                  f"缺少必填列“{c.label}”(也可用：{'、'.join(c.aliases) or '无别名'})"))
    # The file is rejected already, but the analyst fixes everything in one go: every other
    # column is still checked. A missing column reads as all-empty to the rules (each is silent
    # where a value is null), its emptiness is not reported row by row, and keys that include it
    # are not checked for repeats (every row would look alike).
    missing_names = {c.name for c in missing}
    col.missing = missing_names

    n = len(raw.data)
    typed: dict[str, pd.Series] = {}
    empty: dict[str, pd.Series] = {}
    for c in table.columns:
        if c.name in header_of:
            p = parse_column(raw.data[header_of[c.name]].reset_index(drop=True), c)
            col.add(p.reason.notna(), c.name, p.reason)
            values, is_empty = p.values, p.empty & p.reason.isna()
        else:
            p = parse_column(pd.Series([None] * n, dtype=object), c)
            values, is_empty = p.values, p.empty
        if c.default is not None and isinstance(c.default, str) and _is_text(values):
            values = values.where(~is_empty, c.default)  # stays text: _typed keeps it as is
        elif c.default is not None:
            values = values.astype(object).where(~is_empty, c.default)
        elif c.required and c.name not in missing_names:
            col.add(is_empty, c.name, "必填，不能为空")
        typed[c.name] = values
        empty[c.name] = is_empty & (c.default is None)
    frame = pd.DataFrame(typed)
    if check_keys:
        cols, report_col, reason = UNIQUE[table.name]
        if not missing_names & set(cols):
            reasons = duplicate_reasons(frame, cols, report_col, raw.rows.to_numpy(), reason)
            col.add(reasons.notna(), report_col, reasons)
    _RULES[table.name](frame, col, ctx, empty)
    result.frame = _typed(frame, table)
    result.errors = sorted(col.errors, key=lambda p: (p.row or 0))
    result.warnings = sorted(col.warnings, key=lambda p: (p.row or 0))
    result.truncated = col.truncated
    return result


def _is_text(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.na_value is pd.NA


def _typed(frame: pd.DataFrame, table: S.Table) -> pd.DataFrame:
    out = {}
    for c in table.columns:
        v = frame[c.name]
        if c.kind in (S.CODE, S.TEXT, S.ENUM):
            out[c.name] = v.astype("string")
        elif c.kind == S.BOOL:
            out[c.name] = v.astype("boolean")
        elif c.kind == S.INT:
            out[c.name] = pd.to_numeric(v, errors="coerce").astype("Int64")
        elif c.kind in (S.NUMBER, S.RATE):
            out[c.name] = pd.to_numeric(v, errors="coerce").astype("float64")
        elif c.kind == S.DATETIME:
            out[c.name] = pd.to_datetime(v, errors="coerce").astype("datetime64[s]")
        else:  # DATE, MONTH: midnight timestamps; storage casts them to DATE
            out[c.name] = pd.to_datetime(v, errors="coerce").astype("datetime64[s]")
    return pd.DataFrame(out)


# --- table rules ------------------------------------------------------------------------------


# Uniqueness per table: key columns (null counts as a value), the column a duplicate is reported
# in, and the reason.
UNIQUE = {
    "units": (["code"], "code", "区划代码重复"),
    "organizations": (["period", "org_id"], "org_id", "同一统计月份内统一社会信用代码重复"),
    "issues": (["issue_id"], "issue_id", "工单编号重复"),
    "pairings": (["pairing_id"], "pairing_id", "结对编号重复"),
    "projects": (["project_id"], "project_id", "项目编号重复"),
    "checkins": (["period", "community_code"], "community_code", "同一社区同一月份有多行"),
    "targets": (["year", "metric", "unit_code"], "metric", "同一年度、指标、区划的目标重复"),
    # 网格与小区
    "grids": (["period", "grid_code"], "grid_code", "同一网格同一月份有多行"),
    "compounds": (["period", "compound_id"], "compound_id", "同一统计月份内小区编号重复"),
    "tasks": (["task_id"], "task_id", "任务编号重复"),
}


DUPLICATE_ROWS_NAMED = 10  # a key repeated more often names its first rows and the count


def duplicate_rows_text(rows: list[int], total: int | None = None) -> str:
    """"(第 3、5 行)": every row that shares one key, so each can be found in the file (the
    first ten and the count when there are more; ``total`` when ``rows`` is only the first)."""
    total = len(rows) if total is None else total
    shown = "、".join(str(r) for r in rows[:DUPLICATE_ROWS_NAMED])
    if total > DUPLICATE_ROWS_NAMED:
        return f"(第 {shown} 等 {total} 行)"
    return f"(第 {shown} 行)"


def reason_kind(reason: str) -> str:
    """A reason without the row numbers a duplicate names: what a count by reason groups by."""
    return _ROWS_SUFFIX.sub("", reason)


_ROWS_SUFFIX = re.compile(r"\(第 [0-9、]+(?: 等 [0-9]+ 行| 行)\)$")


def duplicate_reasons(frame: pd.DataFrame, cols: list[str], report_col: str, rows: np.ndarray,
                      reason: str) -> pd.Series:
    """For every row whose key another row repeats (null counts as a value): ``reason`` and the
    row numbers of all rows sharing that key; None elsewhere. Every row of the group is named,
    the first as much as the later ones: which of two is right is the analyst's call."""
    key = frame[cols].astype(object).where(frame[cols].notna(), "\x00null")
    dup = (key.duplicated(keep=False) & frame[report_col].notna()).to_numpy(dtype=bool)
    out = pd.Series(np.full(len(frame), None, dtype=object), index=frame.index)
    if not dup.any():
        return out
    idx = np.flatnonzero(dup)
    keys = list(map(tuple, key.iloc[idx].to_numpy()))
    groups: dict[tuple, list[int]] = {}
    for k, r in zip(keys, rows[idx], strict=True):
        groups.setdefault(k, []).append(int(r))
    texts = {k: reason + duplicate_rows_text(sorted(v)) for k, v in groups.items()}
    out.iloc[idx] = [texts[k] for k in keys]
    return out


def _exists(values: pd.Series, known: set[str]) -> pd.Series:
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        # ``values.isin(known)`` builds one Arrow scalar per known code on every call
        arr = pa.array(values.array)
        found = pc.is_in(arr, value_set=pa.array([k for k in known if isinstance(k, str)],
                                                  type=arr.type))
        return values.notna() & ~pd.Series(found.to_numpy(zero_copy_only=False), index=values.index)
    return values.notna() & ~values.isin(known)


def _rules_units(f: pd.DataFrame, col: _Collector, ctx: RefContext, empty: dict) -> None:
    code = f["code"]
    digits = code.str.fullmatch(r"[0-9]+").fillna(True).astype(bool)
    col.add(~digits, "code", "区划代码只能是数字")
    expected = f["level"].map(S.LEVEL_CODE_LENGTH)
    bad_len = code.notna() & expected.notna() & (code.str.len() != expected) & digits
    col.add(bad_len, "code", "代码位数与层级不符：区县6位、街道9位、社区12位、网格15位")
    # Parents may be in this file or already stored (an upsert adds to the stored tree).
    level_of = {}
    if ctx.units is not None and not ctx.units.empty:
        level_of.update(dict(zip(ctx.units["code"], ctx.units["level"], strict=False)))
    level_of.update(dict(zip(code.fillna(""), f["level"].fillna(""), strict=False)))
    parent = f["parent_code"]
    is_district = f["level"] == "district"
    col.add(is_district.fillna(False) & parent.notna(), "parent_code", "区县的上级代码应留空")
    needs_parent = f["level"].notna() & ~is_district.fillna(False)
    col.add(needs_parent & parent.isna(), "parent_code", "街道、社区、网格必须填写上级代码")
    up = {"street": "district", "community": "street", "grid": "community"}
    parent_level = parent.map(lambda p: level_of.get(p) if isinstance(p, str) else None)
    want = f["level"].map(up)
    has_parent = needs_parent & parent.notna()
    if "code" not in col.missing:  # without the file's own codes its parents cannot be known
        col.add(has_parent & parent_level.isna(), "parent_code", "上级代码不存在")
    col.add(has_parent & parent_level.notna() & (parent_level != want), "parent_code",
            "上级代码不是上一级(街道的上级应是区县，社区的上级应是街道，网格的上级应是社区)")
    starts = pd.Series([
        (isinstance(c, str) and isinstance(p, str) and c.startswith(p))
        for c, p in zip(code, parent, strict=False)
    ])
    col.add(has_parent & parent.notna() & code.notna() & ~starts, "code", "代码应以上级代码开头")


def _community_check(f: pd.DataFrame, col: _Collector, ctx: RefContext, name: str) -> None:
    known = ctx.codes("community")
    col.add(_exists(f[name], known), name, "社区代码不存在(请先在区划与网格表中登记)")


def _nonneg(f: pd.DataFrame, col: _Collector, names: list[str]) -> None:
    for n in names:
        col.add(f[n].notna() & (pd.to_numeric(f[n], errors="coerce") < 0), n, "不能为负数")


def _rules_organizations(f: pd.DataFrame, col: _Collector, ctx: RefContext, empty: dict) -> None:
    oid = f["org_id"]
    shape_ok = oid.str.fullmatch(credit_code.PATTERN).fillna(True).astype(bool)
    col.add(~shape_ok, "org_id",
            "统一社会信用代码应为18位，只含数字和大写字母(不含 I、O、Z、S、V)")
    full = oid.notna() & shape_ok
    check_ok = pd.Series(True, index=f.index)
    check_ok[full] = credit_code.valid_vector(oid[full])
    col.add(~check_ok, "org_id", "统一社会信用代码校验位不符(GB 32100-2015)，请核对", warning=True)
    _community_check(f, col, ctx, "community_code")
    _nonneg(f, col, ["employees", "party_members"])
    more = (f["party_members"].notna() & f["employees"].notna()
            & (f["party_members"].astype("Float64") > f["employees"].astype("Float64")))
    col.add(more.fillna(False), "party_members", "正式党员数多于从业人员数，请核对", warning=True)


def _rules_issues(f: pd.DataFrame, col: _Collector, ctx: RefContext, empty: dict) -> None:
    _community_check(f, col, ctx, "community_code")
    g = f["grid_code"]
    parent = _grid_parents(g, ctx)
    col.add(g.notna() & parent.isna(), "grid_code", "网格代码不存在")
    col.add(g.notna() & parent.notna() & (parent != f["community_code"]), "grid_code",
            "网格不属于该工单的所属社区")
    rep = pd.to_datetime(f["reported_at"])
    for name, reason in (("due_at", "办理时限早于上报时间"), ("responded_at", "首次响应时间早于上报时间"),
                         ("closed_at", "办结时间早于上报时间")):
        t = pd.to_datetime(f[name])
        col.add((t < rep).fillna(False), name, reason)
    closed = pd.to_datetime(f["closed_at"]).notna()
    col.add(f["resolved"].notna() & ~closed, "resolved", "工单未办结却填写了是否解决，请核对",
            warning=True)


def _grid_parents(g: pd.Series, ctx: RefContext) -> pd.Series:
    """``g.map(lambda x: grid_parent.get(x) if isinstance(x, str) else None)`` with
    ``grid_parent = ctx.grid_parent()``, as one hash lookup in Arrow instead of a Python call
    per cell. The result has the type that map gives (text; see the fallbacks)."""
    codes, parents = ctx.grid_lookup()
    arr = g.array
    if (isinstance(g.dtype, pd.StringDtype) and g.dtype.storage == "pyarrow"
            and all(isinstance(k, str) for k in codes)
            and all(isinstance(p, str) for p in parents)):
        values = pa.array(arr)
        pos = pc.index_in(values, value_set=pa.array(codes, type=values.type))
        if pos.null_count < len(pos):  # map gives text only when something was found
            found = pa.array(parents, type=values.type).take(pos)
            return pd.Series(pd.array(found, dtype=g.dtype), index=g.index, name=g.name)
    grid_parent = dict(zip(codes, parents))
    return g.map(lambda x: grid_parent.get(x) if isinstance(x, str) else None)


def _rules_pairings(f: pd.DataFrame, col: _Collector, ctx: RefContext, empty: dict) -> None:
    _community_check(f, col, ctx, "community_code")
    s, e = pd.to_datetime(f["started_on"]), pd.to_datetime(f["ended_on"])
    col.add((e < s).fillna(False), "ended_on", "结束日期早于结对日期")


def _rules_projects(f: pd.DataFrame, col: _Collector, ctx: RefContext, empty: dict) -> None:
    known = ctx.pairing_ids or set()
    col.add(_exists(f["pairing_id"], known), "pairing_id", "结对编号不存在(请先上传结对联建关系)")
    done = f["status"] == "已完成"
    has_date = f["completed_on"].notna()
    col.add((done.fillna(False) & ~has_date), "completed_on", "状态为已完成时必须填写实际完成日期")
    col.add((~done.fillna(False) & f["status"].notna() & has_date), "status",
            "填写了实际完成日期，状态应为已完成")


def _rules_checkins(f: pd.DataFrame, col: _Collector, ctx: RefContext, empty: dict) -> None:
    _community_check(f, col, ctx, "community_code")
    _nonneg(f, col, ["units_reported", "members_reported", "activities", "service_hours"])


def _rules_targets(f: pd.DataFrame, col: _Collector, ctx: RefContext, empty: dict) -> None:
    y = pd.to_numeric(f["year"], errors="coerce")
    col.add(y.notna() & ((y < 2000) | (y > 2100)), "year", "年度应在 2000–2100 之间")
    t = pd.to_numeric(f["target"], errors="coerce")
    col.add(t.notna() & ((t < 0) | (t > 1)), "target", "目标值应在 0–1 之间(或 0%–100%)")
    known = ctx.codes("district") | ctx.codes("street")
    col.add(_exists(f["unit_code"], known), "unit_code", "区划代码不是已有的区县或街道代码")


# 网格与小区 ------------------------------------------------------------------------------------


def _rules_grids(f: pd.DataFrame, col: _Collector, ctx: RefContext, empty: dict) -> None:
    known = ctx.codes("grid")
    col.add(_exists(f["grid_code"], known), "grid_code",
            "网格代码不存在(请先在区划与网格表中登记该网格)")
    _nonneg(f, col, ["fulltime_workers", "parttime_workers", "households"])


def _rules_compounds(f: pd.DataFrame, col: _Collector, ctx: RefContext, empty: dict) -> None:
    _community_check(f, col, ctx, "community_code")
    _nonneg(f, col, ["households", "party_members_resident", "heads_area", "heads_group",
                     "heads_neighbor"])
    more = (f["heads_neighbor"].notna() & f["households"].notna()
            & (f["heads_neighbor"].astype("Float64") > f["households"].astype("Float64")))
    col.add(more.fillna(False), "heads_neighbor", "邻长数多于小区户数，请核对", warning=True)
# 重点任务督办 --------------------------------------------------------------------------------

_OWNER_LIST = re.compile(r"[、,，;；/]")


def _rules_tasks(f: pd.DataFrame, col: _Collector, ctx: RefContext, empty: dict) -> None:
    known = ctx.codes("district") | ctx.codes("street")
    col.add(_exists(f["unit_code"], known), "unit_code",
            "所属区划代码不是已有的区县或街道代码(全市性任务请留空)")
    done = (f["status"] == "已完成").fillna(False)
    has_date = f["completed_on"].notna()
    col.add(done & ~has_date, "completed_on", "状态为已完成时必须填写实际完成日期")
    col.add(~done & f["status"].notna() & has_date, "status", "填写了实际完成日期，状态应为已完成")
    progress = pd.to_numeric(f["progress"], errors="coerce")
    col.add(progress.notna() & ((progress < 0) | (progress > 1)), "progress",
            "完成进度应在 0–1 之间(或 0%–100%)")
    col.add(done & progress.notna() & (progress < 1), "progress",
            "状态为已完成，完成进度却不足100%，请核对", warning=True)
    for name in ("title", "owner", "acceptance"):
        text = f[name].astype("string")
        col.add(text.str.contains(_PERSONAL_NUMBER, regex=True).fillna(False), name,
                "含手机号或身份证号等个人信息，请删除后再上传", hide_value=True)
    col.add(f["owner"].astype("string").str.contains(_OWNER_LIST, regex=True).fillna(False),
            "owner", "责任单位似含多个单位；责任单位排名按整段文字计，建议只填牵头单位", warning=True)
    if "acceptance" in col.header_of:
        col.add(f["acceptance"].isna(), "acceptance", "未填写检验标准", warning=True)
    elif len(f):
        col.warnings.append(Problem(col.raw.header_row or None, "检验标准", "",
                                    "文件没有检验标准列：每项任务应明确检验标准"))


_RULES = {
    "units": _rules_units,
    "organizations": _rules_organizations,
    "issues": _rules_issues,
    "pairings": _rules_pairings,
    "projects": _rules_projects,
    "checkins": _rules_checkins,
    "targets": _rules_targets,
    "grids": _rules_grids,
    "compounds": _rules_compounds,
    "tasks": _rules_tasks,
}
