"""The 通报 workbook (xlsxwriter): ranking tables per domain for the units one level below the
selection, the 通报 paragraphs, the follow-up lists and the 口径 of every column.

Sheets: 两个覆盖 · 问题解决 · 结对联建 (排名, 代码, 单位, every key of the domain, 目标值, 是否达标,
红黑榜; a 合计 row for the selection's own unit below) · 通报 (with its 督办预警 paragraph) ·
督办预警 (one row per 红灯, 后N名, 无数据, 连续后进, 进步, 退步 item: ``metrics.supervision``) ·
应建未建清单 · 超期未办结工单 · 逾期未完成项目 · 网格与小区 and its four lists · 重点任务督办 (as the
three, down to the street) · 责任单位排名 · 超期任务 · 临期任务 (the 督办清单) · 口径说明.

Colours are static cell formats (not conditional formatting), so every spreadsheet program, WPS
and a printout show them: 红榜 rows light green, 黑榜 rows light red, a rate below its unit's
annual target in red text. Rates are fractions formatted ``0.0%``. Every cell is written through
``metrics.exports.xlsx`` (``write_table``/``write_cell``): text stays text, nothing becomes a formula.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

import duckdb
import pandas as pd
import xlsxwriter

from metrics import definitions as D
from metrics import supervision as SUP
from metrics.contract.schema import LEVEL_LABELS
from metrics.definitions import COMMON_NOTES, DOMAIN_KEYS, DOMAIN_LABELS, METRICS
from metrics.domains import coverage as cov
from metrics.domains import grids as grid_domain
from metrics.domains import issues, pairing, ranking
from metrics.domains import registry as domains
from metrics.domains import tasks as task_domain
from metrics.exports import bulletin as B
from metrics.exports.slides import (
    AS_OF_FORMAT,
    DOMAINS,
    DomainData,
    Scope,
    domain_data,
    gather,
    owner_data,
)
from metrics.exports.xlsx import safe_sheet_name, text_width, write_cell, write_table
from metrics.selection import Selection
from metrics.settings import LABELS as SETTING_LABELS
from metrics.settings import Settings

GOOD_FILL = "#C6EFCE"  # 红榜 rows (Excel's "Good")
BAD_FILL = "#FFC7CE"  # 黑榜 rows (Excel's "Bad")
BELOW_FONT = "#C00000"  # a rate below its target
HEADER = {"bold": True, "bg_color": "#DDEBF7", "border": 1, "border_color": "#9BC2E6",
          "valign": "vcenter", "align": "center", "text_wrap": True}
TITLE = {"bold": True, "font_size": 16}
INFO = {"font_color": "#595959"}
NUM_FORMATS = {"rate": "0.0%", "score": "0.0", "hours": "0.0", "count": "#,##0", "ratio": "0.0"}
TABLE_START = 3  # title, info line, blank, then the header
LIST_LIMIT = 100_000

# Columns besides the metric keys, with their 口径.
GENERAL_COLUMNS = [
    ("排名", "按该板块的排序指标从高到低排名(并列按代码)；指标为空的单位不排名，列在最后。"),
    ("排名变化", "与上一统计期的排名相比：↑上升、↓下降(名次数)，持平；上期无排名为“—”。"),
    ("上月/上期", "排序指标在上一统计期(单月为上月，区间为等长的上一区间)的值。"),
    ("环比", "本期 − 上期，比率以百分点计；由原始值相减后四舍五入到一位小数，与看板、演示文稿一致。"),
    ("差距", "排序指标 − 目标值，比率以百分点计；由原始值相减后四舍五入到一位小数。"),
    ("代码", "统计用区划代码(区县6位、街道9位、社区12位)。"),
    ("单位", "区划名称。"),
    ("目标值", "排序指标的年度目标：本单位的目标，没有则取最近一级上级(街道→区县→全市)的目标。"),
    ("是否达标", "排序指标不低于目标值为“是”，低于为“否”；没有目标或指标为空时为“—”。"),
    ("红黑榜", "排名前N名为红榜、后N名为黑榜(N见设置“红黑榜数量”)；单位不足2N个时不重复列入。"),
]


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self._cache: dict[tuple, object] = {}

    def get(self, props: Mapping[str, object]):
        key = tuple(sorted(props.items()))
        f = self._cache.get(key)
        if f is None:
            f = self._cache[key] = self.wb.add_format(dict(props))
        return f


def _kind(key: str) -> str:
    return METRICS[key].kind


def _headline_label(data: DomainData) -> str:
    return METRICS[data.key].label


def _movement_labels(data: DomainData, scope: Scope) -> dict[str, str]:
    """Headers of the sort metric's block: value, previous value, 环比, target, gap."""
    label = _headline_label(data)
    unit = {"rate": "(个百分点)", "score": "(分)"}.get(_kind(data.key), "")
    prev = B.prev_word(scope.first, scope.last)
    return {"value": label, "prev": f"{prev}{label}", "change": f"环比{unit}",
            "target": "目标值", "gap": f"差距{unit}"}


def _frame(data: DomainData, scope: Scope) -> tuple[pd.DataFrame, list[dict]]:
    """(the sheet's table, per row: code, mark, below-target keys).

    Columns: 排名, 排名变化, 代码, 单位, the sort metric with 上月 (上期 for a range), 环比, 目标值,
    差距, 是否达标, 红黑榜, then every other key of the domain. 环比 and 差距 are in display units
    (percentage points for rates), from the raw values rounded once — the dashboard's and the
    slides' numbers."""
    keys = DOMAIN_KEYS[data.domain]
    ml = _movement_labels(data, scope)
    grouped = data.rank_level is not None and data.rank_level not in LEVEL_LABELS
    if data.ranked is not None:
        src = data.ranked
        ranks = src["rank"].astype("Int64")
        red, black = src["red"].tolist(), src["black"].tolist()
        targets = data.child_targets
        prev_values = [_num(v) for v in src["prev_value"]]
        changes = list(src["change"])
        moves = [ranking.rank_change_text(d) for d in src["rank_change"]]
    else:  # nothing below the selection's level in this domain: the unit itself
        src = pd.DataFrame([data.unit_row])
        ranks = pd.array([pd.NA] * len(src), dtype="Int64")
        red = black = [False] * len(src)
        targets = data.unit_targets
        prev_values = [_num(data.prev_row.get(data.key))]
        changes = [D.change(data.key, data.unit_row.get(data.key), prev_values[0])]
        moves = ["—"]
    out = pd.DataFrame({
        "排名": ranks,
        "排名变化": pd.array(moves, dtype=object),
        # rows of a group level (责任单位) have no code: their name is the 单位
        "代码": pd.array(["" if grouped or not isinstance(c, str) else c for c in src["unit_code"]],
                         dtype=object),
        "单位": pd.array([str(n) for n in src["unit_name"]], dtype=object),
    })

    def metric_col(k: str):
        col = pd.to_numeric(src[k], errors="coerce")
        return col.astype("Int64") if _kind(k) == "count" else col.astype(float)

    out[ml["value"]] = metric_col(data.key)
    out[ml["prev"]] = pd.array(prev_values, dtype="Float64")
    out[ml["change"]] = pd.array([_num(c) for c in changes], dtype="Float64")
    tv, met, gaps = [], [], []
    info = []
    for i, code in enumerate(src["unit_code"]):
        code = code if isinstance(code, str) else None
        t = targets.get(data.key, {}).get(code)
        tv.append(t["target"] if t else None)
        met.append("—" if not t or t["target_met"] is None else ("是" if t["target_met"] else "否"))
        gaps.append(D.target_gap(data.key, src[data.key].iloc[i], t["target"]) if t else None)
        below = [k for k in keys if METRICS[k].is_rate
                 and targets.get(k, {}).get(code, {}).get("target_met") is False]
        mark = "red" if red[i] else "black" if black[i] else None
        info.append({"code": code, "mark": mark, "below": below})
    out["目标值"] = pd.array(tv, dtype="Float64")
    out[ml["gap"]] = pd.array(gaps, dtype="Float64")
    out["是否达标"] = pd.array(met, dtype=object)
    out["红黑榜"] = pd.array(["红榜" if x["mark"] == "red" else "黑榜" if x["mark"] == "black"
                           else "" for x in info], dtype=object)
    for k in keys:
        if k != data.key:
            out[METRICS[k].label] = metric_col(k)
    return out, info


def _num(v: object) -> float | None:
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _col_props(data: DomainData, scope: Scope) -> dict[str, dict]:
    ml = _movement_labels(data, scope)
    kind_format = NUM_FORMATS.get(_kind(data.key), "General")
    change_format = "+#,##0;-#,##0;0" if _kind(data.key) == "count" else "+0.0;-0.0;0.0"
    props: dict[str, dict] = {"排名": {"align": "center"}, "排名变化": {"align": "center"},
                              "目标值": {"num_format": "0.0%"},
                              ml["prev"]: {"num_format": kind_format},
                              ml["change"]: {"num_format": change_format},
                              ml["gap"]: {"num_format": "+0.0;-0.0;0.0"},
                              "是否达标": {"align": "center"}, "红黑榜": {"align": "center"}}
    for k in DOMAIN_KEYS[data.domain]:
        props[METRICS[k].label] = {"num_format": NUM_FORMATS.get(_kind(k), "General")}
    return props


def _widths(df: pd.DataFrame) -> dict[str, float]:
    out = {"排名": 6.0, "排名变化": 9.0, "代码": 12.0, "是否达标": 9.0, "红黑榜": 8.0, "目标值": 9.0}
    names = [text_width(n) for n in df["单位"]] or [8]
    out["单位"] = float(min(30, max(10, max(names) + 3)))
    for c in df.columns[4:]:
        if c not in out:
            # Headers wrap on two lines; numbers need about 10 characters.
            out[c] = float(max(10, min(16, math.ceil(text_width(c) / 2) + 3)))
    return out


def _print_setup(ws, header_row: int) -> None:
    """A4 landscape, one page wide, the header repeated on every page."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)


def _domain_sheet(wb, fm: _Formats, ws, data: DomainData, scope: Scope, settings: Settings,
                  *, data_version: str | None, is_demo: bool) -> None:
    label = _headline_label(data)
    level = (LEVEL_LABELS.get(data.rank_level) or data.facts.level_label
             if data.rank_level else "")
    period = B.period_label(scope.first, scope.last)
    title = (f"{scope.unit_name}{DOMAIN_LABELS[data.domain]}情况通报表"
             f"（{period}{'，各' + level + '排名' if level else ''}）")
    info = [f"统计期 {period}", f"截止时点 {data.as_of.strftime(AS_OF_FORMAT)}",
            f"排序指标 {label}(目标值、是否达标均指{label})"]
    info.append(f"浅绿为红榜(前{settings.ranking_n}名)，浅红为黑榜(后{settings.ranking_n}名)，"
                "红字为低于年度目标的比率")
    if data_version:
        info.append(f"数据版本 {data_version}")
    if is_demo:
        info.append("示例数据")
    write_cell(ws, 0, 0, title, fm.get(TITLE))
    write_cell(ws, 1, 0, "　".join(info), fm.get(INFO))
    ws.set_row(0, 26)

    df, rows = _frame(data, scope)
    ml = _movement_labels(data, scope)
    col_props = _col_props(data, scope)
    write_table(ws, wb, df, start_row=TABLE_START, header_format=fm.get(HEADER),
                col_widths=_widths(df), formats=col_props)
    ws.set_row(TABLE_START, 36)
    ws.freeze_panes(TABLE_START + 1, 4)
    _print_setup(ws, TABLE_START)
    columns = list(df.columns)
    label_col = {METRICS[k].label: k for k in DOMAIN_KEYS[data.domain]}
    about_key = {"目标值", "是否达标", ml["gap"]}
    for i, r in enumerate(rows):
        if r["mark"] is None and not r["below"]:
            continue
        fill = {"red": GOOD_FILL, "black": BAD_FILL}.get(r["mark"])
        for j, c in enumerate(columns):
            key = label_col.get(c)
            below = key in r["below"] or (c in about_key and data.key in r["below"])
            if fill is None and not below:
                continue
            props = dict(col_props.get(c, {}))
            if fill:
                props.update({"bg_color": fill, "pattern": 1})
            if below and c != "目标值":
                props["font_color"] = BELOW_FONT
            write_cell(ws, TABLE_START + 1 + i, j, df.iat[i, j], fm.get(props))

    # The selection's own unit below the ranking (outside the autofilter range).
    total_row = TABLE_START + 1 + len(df) + 1
    own = data.unit_targets
    t = own.get(data.key, {}).get(scope.unit_code)
    own_value = data.unit_row.get(data.key)
    special = {
        "排名": "合计", "排名变化": "", "代码": scope.unit_code or "", "单位": scope.unit_name,
        ml["prev"]: _num(data.prev_row.get(data.key)),
        ml["change"]: D.change(data.key, own_value, data.prev_row.get(data.key)),
        "目标值": t["target"] if t else None,
        ml["gap"]: D.target_gap(data.key, own_value, t["target"]) if t else None,
        "是否达标": "—" if not t or t["target_met"] is None else ("是" if t["target_met"] else "否"),
        "红黑榜": "",
    }
    for j, c in enumerate(columns):
        key = label_col.get(c)
        props = {"bold": True, "top": 1, **col_props.get(c, {})}
        if c in special:
            value = special[c]
        elif key is not None:
            value = data.unit_row.get(key)
            if own.get(key, {}).get(scope.unit_code, {}).get("target_met") is False:
                props["font_color"] = BELOW_FONT
        else:
            value = ""
        write_cell(ws, total_row, j, value, fm.get(props))
    notes = [f"合计行为{scope.unit_name}整体数据(不参与排名)。",
             "比率的分母为 0 时为空，不是 0；各列口径见“口径说明”。"]
    for n, line in enumerate(notes):
        write_cell(ws, total_row + 2 + n, 0, line, fm.get(INFO))


def _alerts(con: duckdb.DuckDBPyConnection, data: dict[str, DomainData], scope: Scope,
            settings: Settings) -> dict[str, SUP.Alerts]:
    """督办与预警 of each domain's headline metric at its ranked level (none when nothing is
    ranked below the unit)."""
    out = {}
    for d, dd in data.items():
        if dd.rank_level is not None:
            out[d] = SUP.alerts(con, d, scope.domain_sel(d, dd.rank_level), dd.key,
                                settings=settings)
    return out


def _bulletin_sheet(wb, fm: _Formats, ws, data: dict[str, DomainData], scope: Scope,
                    alerts: dict[str, SUP.Alerts], settings: Settings) -> None:
    write_cell(ws, 0, 0, f"{scope.unit_name}党建引领基层治理工作情况通报"
                         f"（{B.period_label(scope.first, scope.last)}）", fm.get(TITLE))
    ws.set_row(0, 26)
    shown = list(data)  # the three domains, then 重点任务督办 where it reaches the unit
    warnings = [SUP.warning_paragraph(alerts[d], level_label=data[d].facts.level_label,
                                    settings=settings) if d in alerts else "" for d in shown]
    df = pd.DataFrame({"板块": [DOMAIN_LABELS[d] for d in shown],
                       "通报": [B.paragraph(data[d].facts) for d in shown],
                       "督办预警": warnings,
                       "下一步工作": [B.next_step(data[d].facts) for d in shown]})
    wrap = {"text_wrap": True, "valign": "top"}
    write_table(ws, wb, df, start_row=2, header_format=fm.get(HEADER),
                col_widths={"板块": 10, "通报": 80, "督办预警": 70, "下一步工作": 50},
                formats={"板块": wrap, "通报": wrap, "督办预警": wrap, "下一步工作": wrap})
    for i, row in enumerate(df.itertuples(index=False)):
        lines = max(math.ceil(text_width(row.通报) / 78), math.ceil(text_width(row.督办预警) / 68),
                    math.ceil(text_width(row.下一步工作) / 48))
        ws.set_row(3 + i, max(20, 16 * lines + 6))


WARNING_COLUMNS = ["板块", "类别", "单位", "指标", "实际值", "应达值", "差距", "说明"]


def warning_rows(alerts: dict[str, SUP.Alerts], settings: Settings) -> list[list]:
    """The 督办预警 sheet's rows: per domain its 红灯 (every red metric, with the expected value
    and the gap in points), 后N名 with 失分原因, units without data, 连续后进, 进步 and 退步."""
    rows: list[list] = []
    for d, a in alerts.items():
        dl = DOMAIN_LABELS[d]
        label = METRICS[a.key].label
        lt = a.lights
        red = lt[lt["light"] == SUP.RED] if not lt.empty else lt
        for code in a.red_units():
            for r in red[red["unit_code"] == code].to_dict("records"):
                why = ("连续黄灯转红灯" if r["escalated"] else
                       f"落后应达值{settings.light_yellow_points:g}个百分点及以上")
                rows.append([dl, "红灯", r["unit_name"], METRICS[r["key"]].label, r["value"],
                             r["expected"], r["gap_points"], why])
        for _, name, value, loss in a.bottom:
            rows.append([dl, f"后{B.cn_count(len(a.bottom))}名", name, label, value, None, None,
                         f"主要失分：{loss.detail}" if loss else ""])
        for name in a.without_data:
            rows.append([dl, "无数据", name, label, None, None, None,
                         f"本期{SUP.NO_DATA_WORD.get(d, '无数据')}，不参加排名"])
        for x in a.lagging:
            ranks = "、".join("—" if r is None else f"第{r}名" for r in x.ranks)
            rows.append([dl, "连续后进", x.unit_name, label, x.values[0], None, None,
                         f"连续{x.periods}期进入黑榜或亮红灯(由近及远：{'、'.join(x.reasons)}；"
                         f"排名 {ranks})"])
        up, down = SUP.movers(a.moves)
        for word, moves in (("进步", up), ("退步", down)):
            for m in moves:
                verb = "上升" if m.change > 0 else "下降"
                rows.append([dl, word, m.unit_name, label, None, None, None,
                             f"排名由第{m.previous_rank}名到第{m.rank}名({verb}{abs(m.change)}位)"])
    return rows


def _warning_sheet(wb, fm: _Formats, ws, alerts: dict[str, SUP.Alerts], scope: Scope,
                   settings: Settings) -> None:
    write_cell(ws, 0, 0, f"{scope.unit_name}督办预警（{B.period_label(scope.first, scope.last)}）",
               fm.get(TITLE))
    write_cell(ws, 1, 0, SUP.short_rule(settings) + "；" + SUP.lagging_text(settings),
               fm.get(INFO))
    rows = warning_rows(alerts, settings)
    df = pd.DataFrame(rows, columns=WARNING_COLUMNS)
    for c in ("实际值", "应达值", "差距"):
        df[c] = pd.array([_num(v) for v in df[c]], dtype="Float64")
    if df.empty:
        write_cell(ws, TABLE_START, 0, "本期没有需要督办预警的单位。", fm.get(INFO))
        return
    write_table(ws, wb, df, start_row=TABLE_START, header_format=fm.get(HEADER),
                col_widths={"板块": 10, "类别": 9, "单位": 16, "指标": 16, "实际值": 9,
                            "应达值": 9, "差距": 8, "说明": 60},
                formats={"实际值": {"num_format": "0.0%"}, "应达值": {"num_format": "0.0%"},
                         "差距": {"num_format": "+0.0;-0.0;0.0"}, "说明": {"text_wrap": True}})
    for i, cat in enumerate(df["类别"]):
        if cat == "红灯":
            write_cell(ws, TABLE_START + 1 + i, 1, cat,
                       fm.get({"font_color": "#FFFFFF", "bg_color": SUP.LIGHT_COLORS[SUP.RED],
                               "pattern": 1, "bold": True}))
    _print_setup(ws, TABLE_START)


LIST_COLUMNS = {
    "should_build": {"org_id": "统一社会信用代码", "org_name": "单位名称", "org_type": "单位类型",
                     "sector": "新兴领域", "district_name": "区县", "street_code": "街道代码",
                     "street_name": "街道",
                     "community_code": "社区代码", "community_name": "社区",
                     "employees": "从业人员数", "party_members": "正式党员数",
                     "party_org": "党组织建立情况", "instructor": "是否选派党建指导员"},
    "overdue_orders": {"issue_id": "工单编号", "district_name": "区县", "street_name": "街道",
                       "community_code": "社区代码", "community_name": "社区", "grid_code": "网格代码", "source": "来源",
                       "category": "问题类别", "reported_at": "上报时间", "due_at": "办理时限",
                       "overdue_days": "超期天数"},
    "overdue_projects": {"project_id": "项目编号", "title": "项目名称", "kind": "项目类别",
                         "status": "状态", "due_on": "计划完成日期", "partner_name": "结对单位",
                         "partner_level": "单位层级", "district_name": "区县",
                         "street_name": "街道", "community_code": "社区代码",
                         "community_name": "社区", "overdue_days": "逾期天数"},
    "tasks_overdue": {"task_id": "任务编号", "title": "任务名称", "kind": "任务类别",
                      "owner": "责任单位", "district_name": "区县", "street_name": "街道",
                      "due_on": "完成时限", "status": "状态", "progress": "完成进度",
                      "acceptance": "检验标准", "overdue_days": "超期天数"},
    "tasks_due_soon": {"task_id": "任务编号", "title": "任务名称", "kind": "任务类别",
                       "owner": "责任单位", "district_name": "区县", "street_name": "街道",
                       "due_on": "完成时限", "status": "状态", "progress": "完成进度",
                       "acceptance": "检验标准", "days_left": "剩余天数"},
}


def _list_sheet(wb, fm: _Formats, ws, df: pd.DataFrame, which: str, title: str) -> None:
    cols = LIST_COLUMNS[which]
    out = df[[c for c in cols if c in df.columns]].rename(columns=cols)
    for c in out.columns:
        if out[c].dtype == bool or str(out[c].dtype) == "boolean":
            out[c] = pd.array([None if v is pd.NA or v is None else ("是" if v else "否")
                               for v in out[c]], dtype=object)
    write_cell(ws, 0, 0, title, fm.get(TITLE))
    note = f"共 {len(out):,} 条" + (f"(只列出前 {LIST_LIMIT:,} 条)" if len(out) >= LIST_LIMIT
                                   else "")
    write_cell(ws, 1, 0, note, fm.get(INFO))
    formats = {c: {"num_format": "#,##0"} for c in ("超期天数", "逾期天数", "从业人员数", "正式党员数",
                                                    "剩余天数")
               if c in out.columns}
    if "完成进度" in out.columns:
        formats["完成进度"] = {"num_format": "0%"}
    write_table(ws, wb, out, start_row=TABLE_START, header_format=fm.get(HEADER),
                formats=formats)
    _print_setup(ws, TABLE_START)


def _definitions_sheet(wb, fm: _Formats, ws, settings: Settings) -> None:
    write_cell(ws, 0, 0, "口径说明", fm.get(TITLE))
    rows = [("通用", c, "", "", d) for c, d in GENERAL_COLUMNS]
    kinds = {"count": "数量", "rate": "比率", "hours": "时长(小时)", "score": "得分",
             "ratio": "比值"}
    for d in (*DOMAINS, "grids", "tasks"):
        for k in DOMAIN_KEYS[d]:
            m = METRICS[k]
            rows.append((DOMAIN_LABELS[d], m.label, k, kinds.get(m.kind, m.kind), m.definition))
    df = pd.DataFrame(rows, columns=["板块", "列名", "字段", "类型", "口径"])
    wrap = {"text_wrap": True, "valign": "top"}
    write_table(ws, wb, df, start_row=2, header_format=fm.get(HEADER),
                col_widths={"板块": 10, "列名": 20, "字段": 26, "类型": 10, "口径": 80},
                formats={"口径": wrap})
    r = 2 + len(df) + 2
    lines = ["说明："] + [f"· {v}" for v in COMMON_NOTES.values()]
    lines.append("· 目标：本单位当年目标，没有则取最近一级上级(社区→街道→区县→全市)的目标；"
                 "达标 = 指标 ≥ 目标。时间进度 = 截止时点前的天数 ÷ 全年天数。")
    lines.append("· 排名：比率、得分从高到低，数量类“越少越好”的指标从低到高；并列按代码；空值排在最后。")
    lines.append("· 当前设置：" + "，".join(
        f"{SETTING_LABELS[k]} {getattr(settings, k):g}" for k in
        ("response_hours", "w_response", "w_resolve", "w_satisfaction", "ranking_n",
         "task_due_soon_days")))
    for i, line in enumerate(lines):
        write_cell(ws, r + i, 0, line, fm.get(INFO))


# 网格与小区 ------------------------------------------------------------------------------------

GRID_LIST_COLUMNS = {
    "grid_name": "网格", "grid_code": "网格代码", "district_name": "区县", "street_name": "街道", "community_name": "社区",
    "grid_party_org": "网格党组织", "fulltime_workers": "专职网格员数",
    "parttime_workers": "兼职网格员数", "households": "户数"}
COMPOUND_LIST_COLUMNS = {
    "compound_name": "小区名称", "compound_id": "小区编号", "district_name": "区县", "street_name": "街道",
    "community_name": "社区", "households": "户数", "party_members_resident": "居住党员数",
    "party_org": "小区党组织", "property_service": "物业服务"}


def _grids_sheets(wb, con: duckdb.DuckDBPyConnection, scope: Scope, taken: set[str]) -> None:
    """网格与小区: every key for the unit and each unit of the level below (the numbers of
    ``python -m metrics report grids``, unrounded in the cells), then the follow-up lists."""
    keys = DOMAIN_KEYS["grids"]
    level = scope.rank_level_for("grids")
    sel_unit = scope.domain_sel("grids", scope.unit_level)
    unit_rep = grid_domain.report(con, sel_unit)
    unit = unit_rep.frame
    frames = [unit[unit["unit_code"].isna()] if scope.unit_code is None
              else unit[unit["unit_code"] == scope.unit_code]]
    if level is not None:
        frames.append(grid_domain.report(con, scope.domain_sel("grids", level)).frame)
    df = pd.concat(frames, ignore_index=True)[["unit_code", "unit_name", *keys]]
    df = df.astype(object).where(df.notna(), None)
    df.columns = ["代码", "单位", *[METRICS[k].label for k in keys]]
    ws = wb.add_worksheet(safe_sheet_name(DOMAIN_LABELS["grids"], taken))
    note = (f"{scope.unit_name}{DOMAIN_LABELS['grids']}　网格快照 {unit_rep.snapshots['grid'] or '—'}"
            f"，小区快照 {unit_rep.snapshots['compound'] or '—'}(各取不晚于统计期末的最近一期)")
    write_cell(ws, 0, 0, note)
    formats = {METRICS[k].label: {"num_format": NUM_FORMATS[METRICS[k].kind]} for k in keys}
    write_table(ws, wb, df, start_row=2, formats=formats, freeze=False)
    for which, title, columns in (
            ("grids_no_party_org", "未建党组织网格", GRID_LIST_COLUMNS),
            ("grids_unstaffed", "无网格员网格", GRID_LIST_COLUMNS),
            ("compounds_should_build", "小区应建未建清单", COMPOUND_LIST_COLUMNS),
            ("compounds_no_property", "无物业小区", COMPOUND_LIST_COLUMNS)):
        lst = grid_domain.follow_up(con, sel_unit, which, limit=LIST_LIMIT)
        ws = wb.add_worksheet(safe_sheet_name(title, taken))
        write_cell(ws, 0, 0, f"{scope.unit_name}{title}(共 {len(lst)} 项)")
        write_table(ws, wb, lst[list(columns)].rename(columns=columns), start_row=2, freeze=False)


# 重点任务督办 ----------------------------------------------------------------------------------


def _tasks_sheets(wb, fm: _Formats, con: duckdb.DuckDBPyConnection, scope: Scope,
                  data: DomainData, taken: set[str], settings: Settings, *,
                  data_version: str | None, is_demo: bool) -> None:
    """重点任务督办 like the three domains (the level below, down to the street, or the unit
    itself), the ranking of the 责任单位, then the 督办清单 as 超期任务 and 临期任务."""
    ws = wb.add_worksheet(safe_sheet_name(DOMAIN_LABELS["tasks"], taken))
    _domain_sheet(wb, fm, ws, data, scope, settings, data_version=data_version, is_demo=is_demo)
    owners = owner_data(con, scope, settings=settings)
    ws = wb.add_worksheet(safe_sheet_name("责任单位排名", taken))
    _domain_sheet(wb, fm, ws, owners, scope, settings, data_version=data_version,
                  is_demo=is_demo)
    usel = scope.domain_sel("tasks", scope.unit_level)
    days = settings.task_due_soon_days
    for which, sheet, title in (
            ("tasks_overdue", "超期任务", f"{scope.unit_name}超期未完成重点任务(督办清单)"),
            ("tasks_due_soon", "临期任务",
             f"{scope.unit_name}临期重点任务({days}天内到期，督办清单)")):
        _list_sheet(wb, fm, wb.add_worksheet(safe_sheet_name(sheet, taken)),
                    task_domain.follow_up(con, usel, which, settings=settings, limit=LIST_LIMIT),
                    which, title)


def report_workbook(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings: Settings,
                    data_version: str | None = None, is_demo: bool = False) -> bytes:
    """The 通报 workbook for ``sel`` (see the module docstring) as XLSX bytes."""
    scope, data = gather(con, sel, settings=settings, trend=False)
    task_data = (domain_data(con, "tasks", scope, settings=settings, trend=False)
                 if scope.unit_level in domains.LEVELS["tasks"] else None)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False,
                                   "nan_inf_to_errors": False})
    wb.set_properties({"title": f"{scope.unit_name}工作情况通报表",
                       "subject": B.period_label(scope.first, scope.last),
                       "author": "网格治理看板",
                       "comments": f"数据版本 {data_version}" if data_version else ""})
    fm = _Formats(wb)
    taken: set[str] = set()
    for d in DOMAINS:
        ws = wb.add_worksheet(safe_sheet_name(DOMAIN_LABELS[d], taken))
        _domain_sheet(wb, fm, ws, data[d], scope, settings, data_version=data_version,
                      is_demo=is_demo)
    reported = {**data, **({"tasks": task_data} if task_data is not None else {})}
    alerts = _alerts(con, reported, scope, settings)
    _bulletin_sheet(wb, fm, wb.add_worksheet(safe_sheet_name("通报", taken)), reported, scope,
                    alerts, settings)
    _warning_sheet(wb, fm, wb.add_worksheet(safe_sheet_name("督办预警", taken)), alerts, scope,
                   settings)
    usel = {d: scope.domain_sel(d, scope.unit_level) for d in DOMAINS}
    _list_sheet(wb, fm, wb.add_worksheet(safe_sheet_name("应建未建清单", taken)),
                cov.gap_list(con, usel["coverage"], "should_build", limit=LIST_LIMIT),
                "should_build", f"{scope.unit_name}应建未建组织清单(正式党员三人以上、未单独组建)")
    _list_sheet(wb, fm, wb.add_worksheet(safe_sheet_name("超期未办结工单", taken)),
                issues.overdue_orders(con, usel["issues"], limit=LIST_LIMIT),
                "overdue_orders", f"{scope.unit_name}超期未办结工单")
    _list_sheet(wb, fm, wb.add_worksheet(safe_sheet_name("逾期未完成项目", taken)),
                pairing.overdue_projects(con, usel["pairing"], limit=LIST_LIMIT),
                "overdue_projects", f"{scope.unit_name}逾期未完成共建项目")
    _grids_sheets(wb, con, scope, taken)
    if task_data is not None:
        _tasks_sheets(wb, fm, con, scope, task_data, taken, settings, data_version=data_version,
                      is_demo=is_demo)
    _definitions_sheet(wb, fm, wb.add_worksheet(safe_sheet_name("口径说明", taken)), settings)
    wb.close()
    return buf.getvalue()
