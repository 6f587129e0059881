"""Rankings: best first; 红榜 = the first N, 黑榜 = the last N (nulls left out)."""

from __future__ import annotations

import pandas as pd

from metrics.definitions import METRICS


def rank(df: pd.DataFrame, key: str, *, n: int = 3) -> pd.DataFrame:
    """``df`` ordered best first by ``key`` with columns ``rank`` (1… for units with a value,
    null otherwise), ``red`` and ``black``.

    Rates and scores descend; counts where fewer is better (and hours) ascend; ties go by code;
    nulls come last and are on neither list. With fewer than 2·N ranked units each list holds
    half of them (rounded down), so no unit is on both lists and a list never names every unit.
    """
    m = METRICS[key]
    ascending = m.fewer_is_better
    out = df.copy()
    has = out[key].notna()
    ranked = out[has].sort_values([key, "unit_code"], ascending=[ascending, True], kind="mergesort")
    rest = out[~has].sort_values("unit_code", kind="mergesort")
    ranked = ranked.assign(rank=range(1, len(ranked) + 1))
    rest = rest.assign(rank=pd.NA)
    out = pd.concat([ranked, rest]) if len(rest) else ranked
    out["rank"] = out["rank"].astype("Int64")
    k = len(ranked)
    size = min(n, k // 2)
    out["red"] = out["rank"].notna() & (out["rank"] <= size)
    out["black"] = out["rank"].notna() & (out["rank"] > k - size)
    out["red"] = out["red"].astype(bool)
    out["black"] = out["black"].astype(bool)
    return out.reset_index(drop=True)


def chart_rows(ranked: pd.DataFrame, key: str, *, limit: int) -> pd.DataFrame:
    """The units a ranking chart draws: all ranked ones (units without a value are left out),
    or, past ``limit``, the first ``limit // 2`` and the last ``limit - limit // 2`` — the ends
    a leader chases, the 红榜 and 黑榜 among them — in rank order."""
    has = ranked[ranked[key].notna()]
    if len(has) <= limit:
        return has
    head = limit // 2
    return pd.concat([has.head(head), has.tail(limit - head)])


def movement(current: pd.DataFrame, previous: pd.DataFrame | None, key: str, *, n: int = 3,
             targets: dict | None = None) -> pd.DataFrame:
    """The ranking of ``current`` by ``key`` (see ``rank``) with how each unit moved since the
    previous period and where it stands against its target.

    Added columns: ``prev_value``, ``change`` (value − prev_value in display units, from the
    raw values, rounded once: ``metrics.definitions.change``), ``prev_rank`` (its rank among
    ``previous``'s units), ``rank_change`` (prev_rank − rank: positive = moved up), ``target``,
    ``gap`` (value − target, rounded once) and ``target_met``. A unit missing from
    ``previous``, or without a value in either period, has nulls there; an empty or missing
    ``previous`` leaves every movement null. ``targets`` is ``with_targets(...)[key]``.
    """
    from metrics.definitions import change, target_gap

    out = rank(current, key, n=n)
    targets = targets or {}
    prev_value: dict = {}
    prev_rank: dict = {}
    if previous is not None and len(previous):
        pr = rank(previous, key, n=n)
        for code, v, r in zip(pr["unit_code"], pr[key], pr["rank"], strict=True):
            prev_value[code] = None if pd.isna(v) else float(v)
            prev_rank[code] = None if pd.isna(r) else int(r)
    values = [None if pd.isna(v) else float(v) for v in out[key]]
    codes = [c if isinstance(c, str) else None for c in out["unit_code"]]
    out["prev_value"] = pd.array([prev_value.get(c) for c in codes], dtype="Float64")
    out["change"] = [change(key, v, prev_value.get(c)) for c, v in zip(codes, values, strict=True)]
    out["prev_rank"] = pd.array([prev_rank.get(c) for c in codes], dtype="Int64")
    out["rank_change"] = pd.array(
        [None if pd.isna(r) or prev_rank.get(c) is None else prev_rank[c] - int(r)
         for c, r in zip(codes, out["rank"], strict=True)], dtype="Int64")
    t = [targets.get(c) for c in codes]
    out["target"] = pd.array([x["target"] if x else None for x in t], dtype="Float64")
    out["gap"] = [target_gap(key, v, x["target"]) if x else None
                  for v, x in zip(values, t, strict=True)]
    out["target_met"] = [None if not x else x["target_met"] for x in t]
    return out


def rank_change_text(delta: object) -> str:
    """↑2 (moved up two places), ↓1, 持平; — when there is no previous rank."""
    if delta is None or delta is pd.NA or (isinstance(delta, float) and delta != delta):
        return "—"
    d = int(delta)
    return f"↑{d}" if d > 0 else f"↓{-d}" if d < 0 else "持平"
