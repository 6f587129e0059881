"""Rankings: best first; 红榜 = the first N, 黑榜 = the last N (nulls left out)."""

from __future__ import annotations

import pandas as pd

from .definitions import METRICS


def rank(df: pd.DataFrame, key: str, *, n: int = 3) -> pd.DataFrame:
    """``df`` ordered best first by ``key`` with columns ``rank`` (1… for units with a value,
    null otherwise), ``red`` and ``black``.

    Rates and scores descend; counts where fewer is better (and hours) ascend; ties go by code;
    nulls come last and are on neither list. When there are fewer than 2·N ranked units, a unit
    already on the 红榜 is left off the 黑榜 so no unit is on both.
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
    red_n = min(n, k)
    out["red"] = out["rank"].notna() & (out["rank"] <= red_n)
    out["black"] = out["rank"].notna() & (out["rank"] > max(k - n, red_n))
    out["red"] = out["red"].astype(bool)
    out["black"] = out["black"].astype(bool)
    return out.reset_index(drop=True)
