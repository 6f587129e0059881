"""One reader per domain per page run: what every read of a domain needs, gathered once.

A page used to pass the same five things to every cached read (connection, domain, Selection,
the domain's data signature, settings) and rebuilt the Selection for each. A ``Reader`` holds
the connection, the signature and the settings of this run and the Selection of the sidebar's
unit (with the page's filters), builds each level's Selection once, and reads through
``ui.cache``, whose keys are unchanged: a result cached by an earlier run, or another session,
is found again. Pages (and ``ui.domain_page``) read; ``ui.components`` only draws what they read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from metrics import supervision
from metrics.domains.common import Report
from metrics.domains.targets import time_elapsed
from metrics.selection import Selection, month_str
from metrics.settings import Settings
from ui import cache

if TYPE_CHECKING:
    from ui.state import Ctx, View


@dataclass(frozen=True)
class Card:
    """What the KPI cards of one domain draw: the unit's row, the row one period earlier (None:
    nothing to compare with), the targets, 时间进度 and the 红黄绿灯 of the unit."""

    row: pd.Series
    previous: pd.Series | None
    targets: dict
    elapsed: float
    lights: pd.DataFrame


class Reader:
    """The reads of one domain for one view (unit, period) and one set of filters."""

    def __init__(self, ctx: Ctx, view: View, domain: str, filters: dict | None = None):
        self.con = ctx.con
        self.domain = domain
        self.settings: Settings = ctx.settings
        self.sig: tuple = ctx.sig(domain)
        self.view = view
        self.filters = filters or {}
        self.sel = view.selection(filters=self.filters)
        self._sels: dict[str | None, Selection] = {None: self.sel, self.sel.level: self.sel}
        self._latest: list[int | None] = []

    # --- selections ---------------------------------------------------------------------------

    def selection(self, level: str | None = None) -> Selection:
        """The view's Selection at ``level`` (the unit's own level by default), with the filters."""
        sel = self._sels.get(level)
        if sel is None:
            sel = self._sels[level] = self.sel.with_(level=level)
        return sel

    @property
    def child_level(self) -> str | None:
        """The level below the unit when the domain reports on it (``View.child_level``)."""
        return self.view.child_level(self.domain)

    def key(self, kind: str, level: str | None = None, *more: object) -> str:
        """A figure's cache key: what it shows and the data version it was built from."""
        return repr((kind, self.domain, self.selection(level), self.sig, self.settings, *more))

    # --- reads --------------------------------------------------------------------------------

    def latest(self) -> int | None:
        """The newest month of the domain (month index), read once per run."""
        if not self._latest:
            self._latest.append(cache.latest(self.con, self.domain, self.sig))
        return self._latest[0]

    def report(self, level: str | None = None, *, month: int | None = None) -> Report:
        """The report at ``level``; with ``month`` that month alone, judged at its default as_of."""
        sel = self.selection(level)
        if month is not None:
            sel = sel.with_(period_from=month_str(month), period_to=month_str(month), as_of=None)
        return cache.report(self.con, self.domain, sel, self.sig, self.settings)

    def previous(self, level: str | None = None) -> Report | None:
        """The same report one period earlier (环比); None when there is nothing to compare with:
        a range reaching before any data, or no ledger before."""
        try:
            prev = cache.report(self.con, self.domain, self.selection(level).previous(self.latest()),
                                self.sig, self.settings)
        except Exception:  # a range reaching before any data has no 环比
            return None
        return None if prev.no_ledger else prev

    def group_report(self, group: str, *, previous: bool = False) -> Report | None:
        """The keys per value of ``group`` (责任单位) over the unit; ``previous``: one period
        earlier, None when there is none."""
        if not previous:
            return cache.group_report(self.con, self.domain, group, self.sel, self.sig,
                                      self.settings)
        try:
            return cache.group_report(self.con, self.domain, group,
                                      self.sel.previous(self.latest()), self.sig, self.settings)
        except Exception:  # a range reaching before any data has no 环比
            return None

    def targets(self, level: str | None = None) -> dict:
        return cache.targets(self.con, self.domain, self.selection(level), self.sig, self.settings)

    def group_targets(self, group: str) -> dict:
        return cache.group_targets(self.con, self.domain, group, self.sel, self.sig, self.settings)

    def lights(self, level: str | None = None) -> pd.DataFrame:
        return cache.lights(self.con, self.domain, self.selection(level), self.sig, self.settings)

    def alerts(self, key: str, level: str | None = None) -> supervision.Alerts:
        return cache.alerts(self.con, self.domain, self.selection(level), key, self.sig,
                            self.settings)

    def breakdown(self, by: str) -> pd.DataFrame:
        return cache.breakdown(self.con, self.domain, self.sel, by, self.sig, self.settings)

    def follow_up(self, which: str) -> pd.DataFrame:
        return cache.follow_up(self.con, which, self.sel, self.sig, self.settings)

    def trend(self, months: int = 12) -> pd.DataFrame:
        return cache.trend(self.con, self.domain, self.sel, months, self.sig, self.settings)

    def explain(self, level: str | None = None) -> dict:
        return cache.explain(self.con, self.domain, self.selection(level), self.sig, self.settings)

    def card(self) -> Card | None:
        """The KPI cards' data for the unit; None when the report has no row."""
        cur = self.report()
        if cur.frame.empty:
            return None
        prev = self.previous()
        prow = prev.frame.iloc[0] if prev is not None and not prev.frame.empty else None
        return Card(cur.frame.iloc[0], prow, self.targets(), time_elapsed(cur.as_of), self.lights())

    def as_of(self) -> dt.datetime:
        return self.report().as_of
