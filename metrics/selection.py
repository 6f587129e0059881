"""What a report is about: level, unit, period, as_of, filters, and the viewer's scope.

Units hang on prefix codes (统计用区划代码: a street's code starts with its district's, a
community's with its street's), so "under unit U" is ``starts_with(code, U)`` and the street of a
community is ``left(community_code, 9)`` — no joins on a page's hot path.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from metrics.contract.schema import LEVEL_CODE_LENGTH
from metrics.contract.schema import LEVELS as UNIT_LEVELS

LEVELS = ("city", *UNIT_LEVELS)  # a report's rows: the whole city, or the units of one level
LEVEL_OF_LENGTH = {v: k for k, v in LEVEL_CODE_LENGTH.items()}


class SelectionError(ValueError):
    """A selection that cannot be answered (message in Chinese)."""


class ScopeError(SelectionError):
    """The selection leaves the viewer's scope."""


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_index(month: str) -> int:
    m = _MONTH.match(month or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise SelectionError(f"月份格式应为 YYYY-MM：{month!r}")
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def month_str(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_label(index: int) -> str:
    """2026年10月: a month as every page, export and 通报 names it."""
    return f"{index // 12}年{index % 12 + 1}月"


def period_label(first: int, last: int) -> str:
    """2026年10月 / 2026年1—10月 / 2025年11月至2026年10月."""
    if first == last:
        return month_label(last)
    if first // 12 == last // 12:
        return f"{last // 12}年{first % 12 + 1}—{last % 12 + 1}月"
    return f"{month_label(first)}至{month_label(last)}"


def month_start(index: int) -> dt.datetime:
    return dt.datetime(index // 12, index % 12 + 1, 1)


def index_of(d: dt.date | dt.datetime) -> int:
    return d.year * 12 + d.month - 1


@dataclass(frozen=True)
class Selection:
    """A frozen, hashable selection: safe as a cache key.

    ``period_from``/``period_to`` are 'YYYY-MM' (None: the latest month with data). ``unit``
    limits the rows to that unit's descendants at ``level``; ``scope`` is the viewer's own limit
    and can never be widened by ``unit``.
    """

    level: str = "city"
    period_from: str | None = None
    period_to: str | None = None
    as_of: dt.datetime | None = None
    unit: str | None = None
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    scope: str | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise SelectionError(f"层级应为 {'/'.join(LEVELS)}：{self.level!r}")
        for m in (self.period_from, self.period_to):
            if m is not None:
                month_index(m)
        if self.period_from and self.period_to and month_index(self.period_from) > month_index(
            self.period_to
        ):
            raise SelectionError("起始月份晚于结束月份")
        for code in (self.unit, self.scope):
            if code is not None and (not code.isdigit() or len(code) not in LEVEL_OF_LENGTH):
                raise SelectionError(f"区划代码应为 6/9/12/15 位数字：{code!r}")

    @staticmethod
    def make(level: str = "city", *, period: str | None = None, period_from: str | None = None,
             period_to: str | None = None, as_of: dt.datetime | None = None,
             unit: str | None = None, filters: dict[str, list[str] | str] | None = None,
             scope: str | None = None) -> Selection:
        if period:
            period_from = period_to = period
        if period_from and not period_to:
            period_to = period_from
        if period_to and not period_from:
            period_from = period_to
        items = []
        for k, v in sorted((filters or {}).items()):
            vals = (v,) if isinstance(v, str) else tuple(v)
            vals = tuple(sorted(x for x in vals if x))
            if vals:
                items.append((k, vals))
        return Selection(level, period_from, period_to, as_of, unit or None, tuple(items),
                         scope or None)

    def filter_dict(self) -> dict[str, tuple[str, ...]]:
        return dict(self.filters)

    def with_(self, **kw) -> Selection:
        return replace(self, **kw)

    def prefix(self) -> str:
        """The code prefix every counted row must start with ('' = the whole city).

        Raises ScopeError when ``unit`` lies outside ``scope``.
        """
        unit, scope = self.unit or "", self.scope or ""
        if unit.startswith(scope):
            return unit
        if scope.startswith(unit):
            return scope
        raise ScopeError("所选区划不在您的权限范围内")

    def months(self, latest: int | None) -> tuple[int, int]:
        """(first, last) month indexes; None-periods fall back to ``latest``."""
        if self.period_to is None:
            if latest is None:
                raise SelectionError("没有数据，无法确定统计月份")
            return latest, latest
        return month_index(self.period_from or self.period_to), month_index(self.period_to)

    def only_filters(self, names: tuple[str, ...]) -> Selection:
        """Without the filters not named in ``names`` (another domain's)."""
        return replace(self, filters=tuple((k, v) for k, v in self.filters if k in names))

    def one_month(self, month: int) -> Selection:
        """Month ``month`` alone (a month of a trend). ``as_of`` is kept only when it is the
        selection's own single month: it is a time inside that month's report."""
        first, last = self.months(None)
        return replace(self, period_from=month_str(month), period_to=month_str(month),
                       as_of=self.as_of if first == last == month else None)

    def shifted(self, months: int, latest: int | None) -> Selection:
        first, last = self.months(latest)
        return replace(self, period_from=month_str(first + months),
                       period_to=month_str(last + months), as_of=None)

    def previous(self, latest: int | None) -> Selection:
        """环比: the same-length range just before."""
        first, last = self.months(latest)
        return self.shifted(-(last - first + 1), latest)

    def last_year(self, latest: int | None) -> Selection:
        """同比: the range shifted back twelve months."""
        return self.shifted(-12, latest)


def level_length(level: str) -> int | None:
    return None if level == "city" else LEVEL_CODE_LENGTH[level]


def level_of_code(code: str) -> str:
    return LEVEL_OF_LENGTH[len(code)]


def child_level(level: str) -> str | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def unit_level(code: str | None) -> str:
    """The level of a unit code; no code is the whole city."""
    return level_of_code(code) if code else "city"


def ranked_level(unit_level: str, level: str | None = None) -> str | None:
    """The level a ranking under a unit of ``unit_level`` lists: ``level`` when it lies below
    the unit, else the unit's children (None below a grid)."""
    if level is not None and LEVELS.index(level) > LEVELS.index(unit_level):
        return level
    return child_level(unit_level)
