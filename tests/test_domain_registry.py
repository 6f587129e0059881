"""What the registry answers for pages and exports alike, so neither reads a domain's tables nor
re-derives its levels: the options of every filter, the level ranked under a unit, a
selection narrowed to one domain or one month."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from metrics.contract import schema as S
from metrics.domains import registry
from metrics.selection import Selection, SelectionError, ranked_level, unit_level
from tests import fixtures as F


def test_every_filter_of_every_domain_has_options_on_the_fixture_city(city):
    for domain, names in registry.FILTERS.items():
        for name in names:
            opts = registry.filter_options(city.con, domain, name)
            assert opts, f"{domain}.{name} offers nothing"
            assert len(opts) == len(set(opts)) and all(isinstance(o, str) for o in opts)


def test_fixed_filters_list_the_contracts_values_in_its_order(city):
    assert registry.filter_options(city.con, "coverage", "org_type") == list(S.ORG_TYPES)
    assert registry.filter_options(city.con, "coverage", "sector") == list(S.SECTORS)
    assert registry.filter_options(city.con, "issues", "source") == list(S.SOURCES)
    assert registry.filter_options(city.con, "pairing", "partner_level") == list(S.PARTNER_LEVELS)
    assert registry.filter_options(city.con, "pairing", "kind") == list(S.PROJECT_KINDS)
    assert registry.filter_options(city.con, "tasks", "kind") == list(S.TASK_KINDS)


def test_issue_categories_are_the_orders_most_frequent_first(city):
    counts = Counter(r[4] for r in F.ISSUE_ROWS)
    expected = sorted(counts, key=lambda c: (-counts[c], c))
    assert registry.filter_options(city.con, "issues", "category") == expected


def test_the_owner_list_is_restricted_to_the_scope(city):
    whole = registry.filter_options(city.con, "tasks", "owner")
    assert set(whole) == {r[3] for r in F.TASK_ROWS}
    assert whole[0] == "区住建局"  # three tasks, more than any other owner
    # 东街道: T03 and T12 by the street office, T02 by 区住建局; no city-wide owner.
    assert registry.filter_options(city.con, "tasks", "owner", scope=F.S_EAST) == [
        "东街道办事处", "区住建局"]
    district = registry.filter_options(city.con, "tasks", "owner", scope=F.D_A)
    assert "市发展改革委" not in district and "区文旅局" not in district
    assert district[:2] == ["区住建局", "东街道办事处"]


def test_a_filter_of_another_domain_has_no_options(city):
    with pytest.raises(SelectionError):
        registry.filter_options(city.con, "coverage", "category")
    with pytest.raises(SelectionError):
        registry.filter_options(city.con, "grids", "org_type")


def test_the_level_ranked_under_a_unit_is_its_childrens_where_the_domain_has_them():
    assert unit_level(None) == "city" and unit_level(F.S_EAST) == "street"
    assert registry.rank_level("issues", "city") == "district"
    assert registry.rank_level("issues", "community") == "grid"
    assert registry.rank_level("coverage", "community") is None  # no grids in the ledger
    assert registry.rank_level("tasks", "street") is None  # tasks stop at a street
    assert registry.rank_level("issues", "grid") is None
    # A level asked for below the unit is ranked as asked; one at or above it is not.
    assert ranked_level("city", "street") == "street"
    assert registry.rank_level("coverage", "district", "community") == "community"
    assert registry.rank_level("coverage", "district", "district") == "street"


def test_a_selection_for_a_domain_keeps_only_its_filters_and_one_month_keeps_as_of_in_it():
    as_of = dt.datetime(2026, 10, 20)
    sel = Selection.make("city", period="2026-10", as_of=as_of, unit=F.D_A,
                         filters={"source": ["12345热线"], "org_type": ["企业"]})
    s = registry.for_domain("issues", sel, "street")
    assert s.level == "street" and s.filters == (("source", ("12345热线",)),)
    assert s.unit == F.D_A and s.as_of == as_of
    oct_ = registry.for_domain("coverage", sel, "district", month=2026 * 12 + 9)
    assert oct_.filters == (("org_type", ("企业",)),) and oct_.as_of == as_of
    sep = registry.for_domain("coverage", sel, "district", month=2026 * 12 + 8)
    assert (sep.period_from, sep.period_to, sep.as_of) == ("2026-09", "2026-09", None)
    ranged = Selection.make("city", period_from="2026-09", period_to="2026-10", as_of=as_of)
    assert ranged.one_month(2026 * 12 + 9).as_of is None  # a time inside a range, not a month
