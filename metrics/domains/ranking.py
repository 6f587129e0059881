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
