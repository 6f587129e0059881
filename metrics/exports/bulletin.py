"""通报: the paragraph written for each domain from fixed sentence templates (no language model).

Every number in a paragraph is one that a chart or card of the deck shows, formatted the way the
chart formats it: rates as ``72.3%`` (one decimal, rounded half away from zero like Excel's
``0.0%``), changes and gaps as ``1.2个百分点`` computed from the raw values and rounded once
(``metrics.definitions.difference``: the dashboard's cards, the slides, the PPTX and the XLSX use
the same function), counts as plain integers (no thousands separators), scores as ``88.1分``. Codes never appear in the text.

The functions here only format; the facts come from ``metrics.exports.slides.domain_data`` (which
reads ``metrics.domains.registry.report``), so the deck, the workbook and the text share one set of
numbers. ``parse_numbers`` reads the numbers back (tests compare them with the report).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from metrics import definitions as D
from metrics.selection import month_label, month_str, period_label

CN_DIGITS = "零一二三四五六七八九十"

# Subject of the headline sentence, and the short name used in "…排名前三的是".
SUBJECT = {
    "org_coverage_rate": ("两新组织党组织覆盖率", "覆盖率"),
    "work_coverage_rate": ("两新组织党的工作覆盖率", "工作覆盖率"),
    "close_rate": ("群众诉求办结率", "办结率"),
    "on_time_rate": ("群众诉求按期办结率", "按期办结率"),
    "satisfaction_rate": ("群众诉求满意率", "满意率"),
    "score": ("接诉即办综合得分", "综合得分"),
    "pairing_coverage_rate": ("社区结对覆盖率", "结对覆盖率"),
    "project_completion_rate": ("共建项目完成率", "项目完成率"),
    "grid_party_org_rate": ("网格党组织覆盖率", "网格党组织覆盖率"),
    "task_completion_rate": ("重点任务完成率", "任务完成率"),
    "task_on_time_rate": ("重点任务按期完成率", "任务按期完成率"),
}


# --- numbers ----------------------------------------------------------------------------------


def _is_missing(v: object) -> bool:
    if v is None:
        return True
    try:
        return v != v  # NaN, pd.NA raises
    except TypeError:
        return True


def round1(v: float | None) -> float | None:
    """One decimal, half away from zero (Excel's display rounding)."""
    return D.round_half_up(v, 1)


def pct1(rate: float | None) -> float | None:
    """A rate (fraction) as the percentage shown: 0.72349 → 72.3."""
    return D.display_number("rate", rate)


def shown(value: float | None, kind: str) -> float | None:
    """The number as displayed: percentage points for rates, one decimal for scores."""
    return pct1(value) if kind == "rate" else round1(value)


def change_points(cur: float | None, prev: float | None, kind: str = "rate") -> float | None:
    """环比 change in percentage points (rates) or points (scores): from the raw values, rounded
    once (``metrics.definitions.difference``), the same number the dashboard's card shows."""
    return D.difference(kind, cur, prev)


def gap_points(value: float | None, target: float | None, kind: str = "rate") -> float | None:
    """Value − target in percentage points (or points), from the raw values, rounded once."""
    return D.difference(kind, value, target)


def fmt_rate(v: float | None) -> str:
    p = pct1(v)
    return "—" if p is None else f"{p:.1f}%"


def fmt_score(v: float | None) -> str:
    r = round1(v)
    return "—" if r is None else f"{r:.1f}分"


def fmt_value(v: float | None, kind: str) -> str:
    if kind == "rate":
        return fmt_rate(v)
    if kind == "score":
        return fmt_score(v)
    if _is_missing(v):
        return "—"
    if kind == "hours":
        return f"{round1(v):.1f}"
    return str(int(v))


def fmt_points(delta: float | None, kind: str = "rate") -> str:
    """1.2个百分点 / 1.2分 (magnitude only)."""
    unit = "个百分点" if kind == "rate" else "分"
    return f"{abs(delta):.1f}{unit}"


def fmt_change(delta: float | None, *, kind: str = "rate", prev_word: str = "上月") -> str:
    """较上月提高1.2个百分点 / 较上月下降0.4个百分点 / 与上月持平 / 上月无可比数据."""
    if delta is None:
        return f"{prev_word}无可比数据"
    if delta == 0:
        return f"与{prev_word}持平"
    verb = "提高" if delta > 0 else "下降"
    return f"较{prev_word}{verb}{fmt_points(delta, kind)}"


def short_of(target: float | None, value: float | None, kind: str = "rate",
             word: str = "低于目标") -> str:
    """低于目标1.2个百分点 — or, below the target by less than the rounding shows,
    低于目标不足0.1个百分点 (never "低于目标0.0个百分点")."""
    gap = gap_points(target, value, kind)
    if gap is None:
        return word
    if gap == 0:
        return f"{word}不足0.1{'个百分点' if kind == 'rate' else '分'}"
    return f"{word}{fmt_points(gap, kind)}"


def cn_count(n: int) -> str:
    """1..10 as 一..十 (for 排名前三); other numbers as digits."""
    return CN_DIGITS[n] if 0 <= n <= 10 else str(n)


_NUMBER = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\d.])\d+(?:\.\d+)?")


def parse_numbers(text: str) -> list[float]:
    """Every Arabic number in ``text`` in order, as written (72.3% → 72.3, 1,234 → 1234.0,
    2026年10月 → 2026.0, 10.0). Chinese numerals (前三) are not numbers of the data and are left
    alone."""
    return [float(m.group(0).replace(",", "")) for m in _NUMBER.finditer(text)]


# --- periods ----------------------------------------------------------------------------------


def prev_word(first: int, last: int) -> str:
    return "上月" if first == last else "上期"


def short_month(index: int) -> str:
    """Chart category for a month: 2026-10."""
    return month_str(index)


# --- facts ------------------------------------------------------------------------------------


@dataclass
class RankedUnit:
    code: str | None
    name: str
    value: float | None
    rank: int | None
    red: bool = False
    black: bool = False
    target: float | None = None
    target_met: bool | None = None


@dataclass
class DomainFacts:
    """What a domain's 通报 says, already computed (see ``metrics.exports.slides.domain_data``)."""

    domain: str
    key: str  # the headline metric
    kind: str  # "rate" | "score"
    unit_name: str  # 全市 / 东湖区 …
    level_label: str  # the ranked units: 区县 / 街道 / 社区 / 网格 ("" when nothing is ranked)
    first: int
    last: int
    value: float | None
    previous: float | None
    target: float | None = None  # the selection unit's own target
    ranking: list[RankedUnit] = field(default_factory=list)  # best first
    row: dict = field(default_factory=dict)  # every key of the domain for the selection unit

    @property
    def period(self) -> str:
        return period_label(self.first, self.last)

    @property
    def prev_word(self) -> str:
        return prev_word(self.first, self.last)

    @property
    def change(self) -> float | None:
        return change_points(self.value, self.previous, self.kind)

    @property
    def red(self) -> list[RankedUnit]:
        return [u for u in self.ranking if u.red]

    @property
    def black(self) -> list[RankedUnit]:
        return [u for u in self.ranking if u.black]

    @property
    def with_target(self) -> list[RankedUnit]:
        return [u for u in self.ranking if u.target is not None]

    @property
    def judged(self) -> list[RankedUnit]:
        """Ranked units with both a value and a target: the ones a target can be met by (a unit
        without data is neither above nor below it)."""
        return [u for u in self.ranking if u.target is not None and u.value is not None]

    @property
    def met(self) -> list[RankedUnit]:
        return [u for u in self.ranking if u.target_met]

    @property
    def below_target(self) -> list[RankedUnit]:
        """Ranked units with a value below their own target, worst first."""
        out = [u for u in self.ranking if u.target_met is False]
        return list(reversed(out))


def _names(units: list[RankedUnit], kind: str) -> str:
    return "、".join(f"{u.name}({fmt_value(u.value, kind)})" for u in units)


def _count(row: dict, key: str) -> int:
    v = row.get(key)
    return 0 if _is_missing(v) else int(v)


def _headline(f: DomainFacts, subject: str) -> str:
    """"2026年10月，全市两新组织党组织覆盖率为72.3%，较上月提高1.2个百分点；7个区县中有4个达到
    年度目标。" (the ranking clause only when ranked units have targets)."""
    s = f"{f.period}，{f.unit_name}{subject}为{fmt_value(f.value, f.kind)}，"
    s += fmt_change(f.change, kind=f.kind, prev_word=f.prev_word)
    if f.judged:
        n, k = len(f.judged), len(f.met)
        if n == 1:
            s += f"；1个{f.level_label}{'达到' if k else '未达到'}年度目标"
        elif k == 0:
            s += f"；{n}个{f.level_label}均未达到年度目标"
        elif k == n:
            s += f"；{n}个{f.level_label}均达到年度目标"
        else:
            s += f"；{n}个{f.level_label}中有{k}个达到年度目标"
    return s + "。"


def _ranking_sentence(f: DomainFacts, short: str) -> str:
    if not f.red:
        return ""
    ranked = [u for u in f.ranking if u.rank is not None]
    if not f.black and len(f.red) == len(ranked):
        # Too few units for a 红榜 and a 黑榜: just the order.
        if len(ranked) == 1:
            return ""
        return f"各{f.level_label}{short}从高到低依次为{_names(ranked, f.kind)}。"
    s = f"{short}{top_phrase(len(f.red))}{_names(f.red, f.kind)}"
    if f.black:
        s += f"；{bottom_phrase(len(f.black))}{_names(f.black, f.kind)}"
    return s + "。"


def top_phrase(n: int) -> str:
    """排名第一的是 / 排名前两位的是 / 排名前三的是."""
    return {1: "排名第一的是", 2: "排名前两位的是"}.get(n, f"排名前{cn_count(n)}的是")


def bottom_phrase(n: int) -> str:
    """排名最后的是 / 排名后两位的是 / 排名后三位的是."""
    return {1: "排名最后的是", 2: "排名后两位的是"}.get(n, f"排名后{cn_count(n)}位的是")


def paragraph(f: DomainFacts) -> str:
    """The domain's 通报 paragraph."""
    subject, short = SUBJECT.get(f.key, (f.key, f.key))
    if f.value is None:
        text = f"{f.period}，{f.unit_name}暂无{short}数据。"
    else:
        text = _headline(f, subject) + _ranking_sentence(f, short)
    r = f.row
    if f.value is None and not any(_count(r, k) for k in ("orgs_total", "reported", "projects",
                                                          "tasks")):
        return text
    if f.domain == "coverage":
        gap = _count(r, "gap_should_build")
        text += f"目前仍有{gap}家应建未建组织。" if gap else "应建未建组织已全部清零。"
    elif f.domain == "issues":
        clauses = [f"{f.unit_name}共受理群众诉求{_count(r, 'reported')}件"]
        for key, label in (("close_rate", "办结率"), ("on_time_rate", "按期办结率"),
                           ("satisfaction_rate", "满意率")):
            if key != f.key:
                clauses.append(f"{label}为{fmt_rate(r.get(key))}")
        if f.key != "score":
            clauses.append(f"综合得分为{fmt_score(r.get('score'))}")
        overdue = _count(r, "open_overdue")
        text += "，".join(clauses) + (f"；目前仍有{overdue}件超期未办结工单。" if overdue
                                      else "；目前没有超期未办结工单。")
    elif f.domain == "pairing":
        overdue, projects = _count(r, "projects_overdue"), _count(r, "projects")
        done = _count(r, "projects_done")
        if not projects:
            return text + "暂无共建项目。"
        text += (f"共建项目{projects}个，" + (f"已完成{done}个，" if done else "尚无已完成项目，")
                 + f"项目完成率为{fmt_rate(r.get('project_completion_rate'))}；"
                 + (f"逾期未完成项目{overdue}个。" if overdue else "没有逾期未完成项目。"))
    elif f.domain == "tasks":
        text += task_sentence(r)
    return text


def task_sentence(r: dict) -> str:
    """"重点任务12项，已完成5项，任务按期完成率为50.0%；逾期未完成任务3项，最长逾期32天；临期任务2项。" """
    overdue, soon = _count(r, "tasks_overdue"), _count(r, "tasks_due_soon")
    s = (f"重点任务{_count(r, 'tasks')}项，已完成{_count(r, 'tasks_done')}项，"
         f"任务按期完成率为{fmt_rate(r.get('task_on_time_rate'))}；")
    s += (f"逾期未完成任务{overdue}项，最长逾期{_count(r, 'max_overdue_days')}天" if overdue
          else "没有逾期未完成任务")
    return s + (f"；临期任务{soon}项。" if soon else "。")


def owner_paragraph(f: DomainFacts, overdue: list[tuple[str, int]]) -> str:
    """The 通报 of the 责任单位 ranking (``f.ranking`` holds the owners): who leads and lags, and
    the owners with the most overdue tasks (``overdue``: (owner, count), most first)."""
    _, short = SUBJECT.get(f.key, (f.key, f.key))
    ranked = [u for u in f.ranking if u.rank is not None]
    s = f"{f.period}，{f.unit_name}共有{len(f.ranking)}个{f.level_label}承担重点任务"
    s += (f"，其中{len(ranked)}个有应计任务。" if len(ranked) < len(f.ranking) else "。")
    s += _ranking_sentence(f, short)
    if overdue:
        s += ("逾期未完成任务较多的责任单位是"
              + "、".join(f"{n}({c}项)" for n, c in overdue) + "，要压实责任、限期完成。")
    else:
        s += "各责任单位均没有逾期未完成任务。"
    return s


# --- other slides' sentences --------------------------------------------------------------------


def trend_sentence(unit_name: str, key: str, kind: str, months: list[int],
                   values: list[float | None], targets: list[float | None]) -> str:
    """"近12个月，全市覆盖率由2025年11月的68.2%提高到2026年10月的72.3%，提高4.1个百分点；
    其中8个月达到年度目标。" — over the months that have a value."""
    _, short = SUBJECT.get(key, (key, key))
    have = [(m, v, t) for m, v, t in zip(months, values, targets) if v is not None]
    if not have:
        return f"近{len(months)}个月，{unit_name}暂无{short}数据。"
    (m0, v0, _), (m1, v1, _) = have[0], have[-1]
    if len(have) == 1:
        return f"{month_label(m1)}，{unit_name}{short}为{fmt_value(v1, kind)}。"
    delta = change_points(v1, v0, kind)
    if delta is None or delta == 0:
        move = f"由{month_label(m0)}的{fmt_value(v0, kind)}到{month_label(m1)}的{fmt_value(v1, kind)}，保持持平"
    else:
        verb = "提高" if delta > 0 else "下降"
        move = (f"由{month_label(m0)}的{fmt_value(v0, kind)}{verb}到{month_label(m1)}的"
                f"{fmt_value(v1, kind)}，{verb}{fmt_points(delta, kind)}")
    s = f"近{len(have)}个月，{unit_name}{short}{move}"
    judged = [(v, t) for _, v, t in have if t is not None]
    if judged:
        # Never "其中0个月": a count of nothing is said in words.
        met = sum(1 for v, t in judged if v >= t)
        if met == 0:
            s += "；各月均未达到年度目标" if len(judged) > 1 else "；未达到年度目标"
        elif met == len(judged):
            s += "；各月均达到年度目标" if len(judged) > 1 else "；达到年度目标"
        else:
            s += f"；其中{met}个月达到年度目标"
    return s + "。"


UNIT_WORD = {"coverage": "家", "issues": "件", "pairing": "个", "tasks": "项"}


def problems_sentence(domain: str, unit_name: str, row: dict, top: list[tuple[str, int]],
                      level_label: str) -> str:
    """The 问题清单 slide's text. ``top``: (unit name, count) of the worst units."""
    tops = "、".join(f"{n}({c}{UNIT_WORD[domain]})" for n, c in top)
    if domain == "coverage":
        gap, uncovered = _count(row, "gap_should_build"), _count(row, "gap_work_uncovered")
        s = (f"目前{unit_name}仍有{gap}家应建未建组织(正式党员三人以上、未单独组建党组织)，" if gap
             else f"目前{unit_name}应建未建组织已全部清零，")
        s += (f"另有{uncovered}家组织党的工作未覆盖。" if uncovered
              else "两新组织党的工作已全部覆盖。")
        if tops:
            s += f"应建未建数较多的{level_label}是{tops}，要逐家摸排、限期组建。"
        return s
    if domain == "issues":
        overdue = _count(row, "open_overdue")
        s = (f"目前{unit_name}有{overdue}件超期未办结工单。" if overdue
             else f"目前{unit_name}没有超期未办结工单。")
        if tops:
            s += f"超期未办结工单较多的{level_label}是{tops}，要逐件督办、限期办结。"
        return s
    if domain == "tasks":
        overdue, soon = _count(row, "tasks_overdue"), _count(row, "tasks_due_soon")
        s = (f"目前{unit_name}有{overdue}项重点任务逾期未完成(最长逾期"
             f"{_count(row, 'max_overdue_days')}天)，" if overdue
             else f"目前{unit_name}没有逾期未完成的重点任务，")
        s += f"另有{soon}项临期任务。" if soon else "没有临期任务。"
        if tops:
            s += f"逾期任务较多的{level_label}是{tops}，要压实责任单位责任、限期完成。"
        return s
    overdue = _count(row, "projects_overdue")
    s = (f"目前{unit_name}有{overdue}个共建项目逾期未完成，" if overdue
         else f"目前{unit_name}没有逾期未完成的共建项目，")
    done = _count(row, "projects_done")
    s += f"已完成{done}个。" if done else "尚无已完成的项目。"
    if tops:
        s += f"逾期项目较多的{level_label}是{tops}，要压实结对双方责任、加快推进。"
    return s


ACTIONS = {
    "coverage": "对{n}家应建未建组织逐家摸排，成熟一家、组建一家，提高两新组织党组织覆盖率。",
    "issues": "对{n}件超期未办结工单挂牌督办，限期办结并做好回访，提高办结率和满意率。",
    "pairing": "推动{n}个逾期共建项目加快完成，未结对社区尽快落实结对单位。",
    "tasks": "对{n}项逾期未完成重点任务挂牌督办，压实责任单位责任、限期完成并对照检验标准验收。",
}
ACTIONS_NONE = {
    "coverage": "巩固应建尽建成果，持续提高两新组织党组织覆盖率。",
    "issues": "保持超期工单动态清零，持续提高办结率和满意率。",
    "pairing": "保持共建项目按期推进，未结对社区尽快落实结对单位。",
    "tasks": "保持重点任务按期推进，临期任务提前调度、按时完成。",
}
ACTION_COUNT = {"coverage": "gap_should_build", "issues": "open_overdue",
                "pairing": "projects_overdue", "tasks": "tasks_overdue"}


def next_step(f: DomainFacts, *, max_names: int = 8) -> str:
    """One line of the closing slide for a domain: who is below target, and what to do."""
    _, short = SUBJECT.get(f.key, (f.key, f.key))
    below = f.below_target
    if f.value is None:
        return f"{short}暂无数据。"
    if not f.ranking:
        head = ""
    elif not f.with_target:
        head = f"{short}暂无年度目标。"
    elif not f.judged:  # no unit below has data: nothing met or missed
        head = ""
    elif not below:
        head = f"各{f.level_label}{short}均已达到年度目标，要巩固提升。"
    else:
        shown_units = below[:max_names]
        names = "、".join(
            f"{u.name}({fmt_value(u.value, f.kind)}，{short_of(u.target, u.value, f.kind)})"
            for u in shown_units)
        more = f"等{len(below)}个{f.level_label}" if len(below) > len(shown_units) else ""
        head = f"{names}{more}{short}未达到年度目标，要对标补差。"
    n = _count(f.row, ACTION_COUNT[f.domain])
    return head + (ACTIONS[f.domain].format(n=n) if n else ACTIONS_NONE[f.domain])
