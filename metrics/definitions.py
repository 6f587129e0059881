"""Every number Gridboard shows: key, Chinese label, kind and 口径 (docs/contract/metrics.md in
code). Cards, charts, exports and the CLI all take labels and definitions from here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    domain: str
    kind: str  # "count" | "rate" | "hours" | "score" | "ratio" (a quotient that is not a share)
    definition: str
    # Rankings: rates and scores best-first descending; counts where fewer is better ascending.
    fewer_is_better: bool = False

    @property
    def is_rate(self) -> bool:
        return self.kind == "rate"


_M: list[Metric] = []


def _add(domain: str, key: str, label: str, kind: str, definition: str, fewer: bool = False) -> None:
    _M.append(Metric(key, label, domain, kind, definition, fewer))


# 两个覆盖 -----------------------------------------------------------------------------------
COVERAGE = "coverage"
_add(COVERAGE, "orgs_total", "两新组织数", "count", "范围内实体运营的两新组织数(空壳、僵尸组织不计)")
_add(COVERAGE, "orgs_with_party_org", "已建党组织数", "count", "党组织建立情况为 单独组建 或 联合组建 的组织数")
_add(COVERAGE, "orgs_standalone", "单独组建数", "count", "党组织建立情况为 单独组建 的组织数")
_add(COVERAGE, "orgs_work_covered", "工作覆盖数", "count", "已建党组织，或已选派党建指导员的组织数")
_add(COVERAGE, "org_coverage_rate", "组织覆盖率", "rate", "已建党组织数 ÷ 两新组织数")
_add(COVERAGE, "work_coverage_rate", "工作覆盖率", "rate", "工作覆盖数 ÷ 两新组织数")
_add(COVERAGE, "standalone_eligible", "应单独组建数", "count", "正式党员数 ≥ 3 的组织数(党章：有正式党员三人以上的应成立基层组织)")
_add(COVERAGE, "standalone_done", "已单独组建数", "count", "应单独组建且党组织建立情况为 单独组建 的组织数")
_add(COVERAGE, "standalone_rate", "应建尽建率", "rate", "已单独组建数 ÷ 应单独组建数")
_add(COVERAGE, "gap_should_build", "应建未建数", "count", "应单独组建数 − 已单独组建数", fewer=True)
_add(COVERAGE, "gap_work_uncovered", "工作未覆盖数", "count", "两新组织数 − 工作覆盖数", fewer=True)

# 问题解决 -----------------------------------------------------------------------------------
ISSUES = "issues"
_add(ISSUES, "reported", "受理量", "count", "上报时间在统计期内且早于截止时点的工单数")
_add(ISSUES, "due", "应办结数", "count", "受理工单中，截止时点前已办结，或办理时限早于截止时点的工单数")
_add(ISSUES, "closed", "办结数", "count", "办结时间早于截止时点的工单数")
_add(ISSUES, "closed_on_time", "按期办结数", "count", "已办结且办结时间不晚于办理时限的工单数")
_add(ISSUES, "close_rate", "办结率", "rate", "办结数 ÷ 应办结数")
_add(ISSUES, "on_time_rate", "按期办结率", "rate", "按期办结数 ÷ 应办结数")
_add(ISSUES, "open_overdue", "超期未办结数", "count", "未办结且办理时限早于截止时点的工单数", fewer=True)
_add(ISSUES, "response_due", "应响应数", "count",
     "截止时点前已响应，或 上报时间 + 响应时限 早于截止时点的工单数")
_add(ISSUES, "responded_in_time", "及时响应数", "count",
     "截止时点前已响应，且 首次响应时间 − 上报时间 ≤ 响应时限 的工单数")
_add(ISSUES, "response_rate", "响应率", "rate", "及时响应数 ÷ 应响应数")
_add(ISSUES, "rated_resolved", "解决回访数", "count", "已办结且填写了是否解决的工单数")
_add(ISSUES, "resolved", "解决数", "count", "已办结且是否解决为 是 的工单数")
_add(ISSUES, "resolve_rate", "解决率", "rate", "解决数 ÷ 解决回访数")
_add(ISSUES, "rated_satisfaction", "满意度评价数", "count", "已办结且填写了满意度的工单数")
_add(ISSUES, "satisfied", "满意数", "count", "已办结且满意度为 满意 或 基本满意 的工单数")
_add(ISSUES, "satisfaction_rate", "满意率", "rate", "满意数 ÷ 满意度评价数")
_add(ISSUES, "avg_close_hours", "平均办结时长(小时)", "hours",
     "已办结工单的 办结时间 − 上报时间 的平均值(小时)；无办结工单时为空", fewer=True)
_add(ISSUES, "score", "综合得分", "score",
     "100 × (响应率权重 × 响应率 + 解决率权重 × 解决率 + 满意率权重 × 满意率)；三者任一为空则为空")

# 结对联建 -----------------------------------------------------------------------------------
PAIRING = "pairing"
_add(PAIRING, "communities", "社区数", "count", "区划内的社区数(来自区划与网格表)")
_add(PAIRING, "pairings_active", "结对关系数", "count", "结对日期已到、且结束日期为空或未到的结对关系数")
_add(PAIRING, "communities_paired", "已结对社区数", "count", "至少有一个有效结对关系的社区数")
_add(PAIRING, "pairing_coverage_rate", "结对覆盖率", "rate", "已结对社区数 ÷ 社区数")
_add(PAIRING, "projects", "共建项目数", "count", "区划内结对关系(无论是否有效)的、状态不是 已终止 的项目数")
_add(PAIRING, "projects_due", "应完成项目数", "count", "其中已完成，或计划完成日期已到的项目数")
_add(PAIRING, "projects_done", "已完成项目数", "count", "实际完成日期已到的项目数")
_add(PAIRING, "projects_done_on_time", "按期完成数", "count", "已完成且实际完成日期不晚于计划完成日期的项目数")
_add(PAIRING, "project_completion_rate", "项目完成率", "rate", "已完成项目数 ÷ 共建项目数")
_add(PAIRING, "project_on_time_rate", "项目按期完成率", "rate", "按期完成数 ÷ 应完成项目数")
_add(PAIRING, "projects_overdue", "逾期未完成数", "count", "未完成且计划完成日期已到的项目数", fewer=True)
_add(PAIRING, "units_reported", "报到单位数", "count",
     "统计期末(不晚于结束月份的最近一个月)双报到月报的报到单位数(累计)之和")
_add(PAIRING, "members_reported", "报到党员数", "count", "同上，报到党员数(累计)之和")
_add(PAIRING, "activities", "活动次数", "count", "统计期内各月开展活动次数之和")
_add(PAIRING, "service_hours", "服务时长(小时)", "hours", "统计期内各月服务时长之和")

# 网格与小区 ---------------------------------------------------------------------------------
# Two monthly snapshots (tables grids and compounds), each taken, like the organizations ledger,
# as the latest period at or before the range's last month; the two may be different months.
GRIDS = "grids"
_G = "(网格快照)"
_add(GRIDS, "grids", "网格数", "count",
     f"网格快照中、所选区划内的网格数(一个网格一行；区划表中有而快照未报的网格不计){_G}")
_add(GRIDS, "grids_with_party_org", "已建党组织网格数", "count",
     "网格党组织为 网格党支部 或 网格党小组 的网格数")
_add(GRIDS, "grids_party_branch", "网格党支部数", "count", "网格党组织为 网格党支部 的网格数")
_add(GRIDS, "grid_party_org_rate", "网格党组织覆盖率", "rate",
     "已建党组织网格数 ÷ 网格数；网格数为 0 时为空")
_add(GRIDS, "gap_grids_no_party_org", "未建党组织网格数", "count",
     "网格数 − 已建党组织网格数(网格党组织为 未建 的网格)", fewer=True)
_add(GRIDS, "grids_with_leader", "配备网格长网格数", "count", "是否配备网格长为 是 的网格数")
_add(GRIDS, "grid_leader_rate", "网格长配备率", "rate", "配备网格长网格数 ÷ 网格数；网格数为 0 时为空")
_add(GRIDS, "grids_staffed", "配备网格员网格数", "count",
     "专职网格员数 + 兼职网格员数 ≥ 1 的网格数")
_add(GRIDS, "grid_staffed_rate", "网格员配备率", "rate", "配备网格员网格数 ÷ 网格数；网格数为 0 时为空")
_add(GRIDS, "gap_grids_unstaffed", "无网格员网格数", "count",
     "网格数 − 配备网格员网格数(专职、兼职网格员都为 0 的网格)", fewer=True)
_add(GRIDS, "fulltime_workers", "专职网格员数", "count", "各网格专职网格员数之和")
_add(GRIDS, "parttime_workers", "兼职网格员数", "count", "各网格兼职网格员数之和")
_add(GRIDS, "grid_workers", "网格员总数", "count", "专职网格员数 + 兼职网格员数")
_add(GRIDS, "grid_households", "网格户数", "count", "各网格户数之和")
_add(GRIDS, "households_per_worker", "每名网格员服务户数", "ratio",
     "网格户数 ÷ 网格员总数(全部网格的户数之和除以全部网格员之和，含无网格员网格的户数)；"
     "网格员总数为 0 时为空", fewer=True)
_C = "(小区快照)"
_add(GRIDS, "compounds", "小区数", "count",
     f"小区快照中、所属社区在所选区划内的小区数(一个小区一行){_C}")
_add(GRIDS, "compounds_with_party_org", "已建党组织小区数", "count",
     "小区党组织为 小区党支部 或 楼栋党小组 的小区数")
_add(GRIDS, "compound_party_org_rate", "小区党组织覆盖率", "rate",
     "已建党组织小区数 ÷ 小区数；小区数为 0 时为空")
_add(GRIDS, "compounds_build_eligible", "应建党支部小区数", "count",
     "居住党员数 ≥ 3 的小区数(党章：有正式党员三人以上的应成立党的基层组织)")
_add(GRIDS, "compounds_build_done", "已建党支部小区数", "count",
     "应建党支部且小区党组织为 小区党支部 的小区数；楼栋党小组 不是党支部，不算已建")
_add(GRIDS, "compound_build_rate", "小区党支部应建尽建率", "rate",
     "已建党支部小区数 ÷ 应建党支部小区数；应建党支部小区数为 0 时为空")
_add(GRIDS, "gap_compounds_should_build", "小区应建未建数", "count",
     "应建党支部小区数 − 已建党支部小区数(居住党员 ≥ 3 而小区党组织为 楼栋党小组 或 未建)",
     fewer=True)
_add(GRIDS, "compounds_with_property", "有物业小区数", "count",
     "物业服务为 专业物业、红色物业 或 自管 的小区数(物业管理覆盖含业主自管)")
_add(GRIDS, "property_coverage_rate", "物业覆盖率", "rate", "有物业小区数 ÷ 小区数；小区数为 0 时为空")
_add(GRIDS, "gap_compounds_no_property", "无物业小区数", "count",
     "物业服务为 无 的小区数(小区数 − 有物业小区数)", fewer=True)
_add(GRIDS, "compounds_red_property", "红色物业数", "count", "物业服务为 红色物业 的小区数")
_add(GRIDS, "compounds_owners_committee", "已成立业委会小区数", "count", "是否成立业委会为 是 的小区数")
_add(GRIDS, "owners_committee_rate", "业委会组建率", "rate",
     "已成立业委会小区数 ÷ 小区数(全部小区，不论物业服务方式)；小区数为 0 时为空")
_add(GRIDS, "model_compounds", "示范小区数", "count", "是否示范小区为 是 的小区数(快照时点的存量)")
_add(GRIDS, "compound_households", "小区户数", "count", "各小区户数之和")
_add(GRIDS, "compound_party_members", "居住党员数", "count", "各小区居住党员数之和")
_add(GRIDS, "heads_area", "片长数", "count", "各小区片长数之和")
_add(GRIDS, "heads_group", "组长数", "count", "各小区组长数之和")
_add(GRIDS, "heads_neighbor", "邻长数", "count", "各小区邻长数之和")
_add(GRIDS, "heads_neighbor_per_100", "每百户邻长数", "ratio",
     "100 × 邻长数 ÷ 小区户数；小区户数为 0 时为空")
# 重点任务督办 -------------------------------------------------------------------------------
TASKS = "tasks"
_add(TASKS, "tasks", "任务数", "count", "状态不是 已终止 的任务数(全市性任务只计入全市及责任单位)")
_add(TASKS, "tasks_due", "应完成任务数", "count", "其中已完成，或完成时限已到的任务数")
_add(TASKS, "tasks_done", "已完成任务数", "count", "实际完成日期已到的任务数")
_add(TASKS, "tasks_done_on_time", "按期完成任务数", "count",
     "已完成且实际完成日期不晚于完成时限的任务数(完成时限当天完成算按期)")
_add(TASKS, "task_completion_rate", "任务完成率", "rate", "已完成任务数 ÷ 任务数")
_add(TASKS, "task_on_time_rate", "任务按期完成率", "rate", "按期完成任务数 ÷ 应完成任务数")
_add(TASKS, "tasks_overdue", "逾期未完成任务数", "count", "未完成且完成时限已到的任务数", fewer=True)
_add(TASKS, "max_overdue_days", "最长逾期天数", "count",
     "逾期未完成任务中 截止日期 − 完成时限 的最大天数；没有逾期任务时为空", fewer=True)
_add(TASKS, "tasks_due_soon", "临期任务数", "count",
     "未完成、完成时限未到、且完成时限早于 截止日期 + 临期天数 的任务数(即临期天数内到期)",
     fewer=True)
# --------------------------------------------------------------------------------------------

METRICS: dict[str, Metric] = {m.key: m for m in _M}
# Rates that accumulate over the year: judged against 年度目标 × 时间进度 (序时进度), not the
# full-year target.
PACED = frozenset({"project_completion_rate"})
DOMAIN_KEYS: dict[str, list[str]] = {
    d: [m.key for m in _M if m.domain == d]
    for d in ("coverage", "issues", "pairing", "grids", "tasks")
}
DOMAIN_LABELS = {"coverage": "两个覆盖", "issues": "问题解决", "pairing": "结对联建",
                 "grids": "网格与小区", "tasks": "重点任务督办"}

COMMON_NOTES = {
    "as_of": "截止时点：默认为统计期结束后的第一个时刻(下月1日0时)；问题解决不晚于已上传工单中最新时间之后1秒。"
             "时间早于截止时点才算已发生；日期早于截止时点的日期才算已到。",
    "rate": "比率的分母为 0 时为空(显示为“—”)，不是 0。",
    "period": "存量指标(覆盖、结对、累计报到、网格与小区)取统计期末的状态；流量指标(工单、活动、服务时长)为统计期内各月之和。",
}


def label(key: str) -> str:
    return METRICS[key].label


# --- one rounding rule ----------------------------------------------------------------------
# Every number is shown the way Excel shows it (the PPTX labels and the XLSX cells are drawn by
# Office, which rounds half away from zero after taking 15 significant digits), so a card, a
# slide, the 通报 text and a handout never differ in the last digit. A change (环比) or a gap to
# a target is computed from the raw values and rounded once: 72.34% − 71.16% is 1.2个百分点,
# whatever the two values round to on their own.


def _missing(v: object) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN; pd.NA raises
    except TypeError:
        return True


def _dec(v: object) -> Decimal:
    return Decimal(f"{float(v):.15g}")


def round_half_up(v: object, places: int = 1) -> float | None:
    """``v`` to ``places`` decimals, half away from zero (Excel's display rounding)."""
    if _missing(v):
        return None
    q = Decimal(1).scaleb(-places)
    return float(_dec(v).quantize(q, rounding=ROUND_HALF_UP))


def display_number(kind: str, value: object) -> float | int | None:
    """The number as displayed: a rate in percent with one decimal, a score or hours with one
    decimal, a count as an integer; None for null."""
    if _missing(value):
        return None
    if kind == "rate":
        return float((_dec(value) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    if kind in ("score", "hours", "ratio"):
        return round_half_up(value, 1)
    return int(value)


def difference(kind: str, a: object, b: object) -> float | int | None:
    """a − b in display units (percentage points for rates, points for scores, hours, a
    whole number for counts), from the raw values, rounded once. None when either is null.
    Used for 环比 (now − before) and target gaps (value − target)."""
    if _missing(a) or _missing(b):
        return None
    d = _dec(a) - _dec(b)
    if kind == "rate":
        return float((d * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    if kind in ("score", "hours", "ratio"):
        return float(d.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return int(d)


def change(key: str, now: object, before: object) -> float | int | None:
    """环比 of metric ``key``: now − before (see ``difference``)."""
    return difference(kind_of(key), now, before)


def target_gap(key: str, value: object, target: object) -> float | int | None:
    """Value − target of metric ``key`` in display units, rounded once (see ``difference``)."""
    return difference(kind_of(key), value, target)


def kind_of(key: str) -> str:
    m = METRICS.get(key)
    return m.kind if m else "count"


POINT_UNITS = {"rate": "个百分点", "score": "分", "hours": "小时", "count": "", "ratio": ""}


def format_difference(kind: str, d: float | int | None, *, signed: bool = True,
                      unit: bool = True) -> str:
    """A change or gap as shown: +1.3个百分点, −0.4分, +12; 0 as 0.0/0 (callers say 持平)."""
    if d is None:
        return "—"
    text = f"{abs(d):,d}" if kind == "count" else f"{abs(d):.1f}"
    sign = ("+" if d > 0 else "-" if d < 0 else "") if signed else ""
    return sign + text + (POINT_UNITS.get(kind, "") if unit else "")


def format_value(key: str, value: object) -> str:
    """The UI's form: rates as percentages with one decimal, null as —."""
    return format_kind(kind_of(key), value)


def format_kind(kind: str, value: object) -> str:
    v = display_number(kind, value)
    if v is None:
        return "—"
    if kind == "rate":
        return f"{v:.1f}%"
    if kind in ("hours", "score", "ratio"):
        return f"{v:,.1f}"
    return f"{v:,}"
