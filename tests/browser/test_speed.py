"""Click-to-answer time in the real browser on the small demo store.

The measurement itself lives in tools/measure_speed.py (the README's figures for the demo
city and the 10-million-order bench store come from the same code): choosing another month,
drilling down by clicking a ranking bar, going back by the 全市 breadcrumb, and switching
pages in the sidebar. Each runs once cold, once as a warm-up, then five measured times (every
result then comes from the caches). Before them, the first views after start-up: once the
server has warmed its caches (ui/warm.py), opening 总览 and the first click to 问题解决, a
selection's first view. Figures go to test-artifacts/speed.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metrics.datadir import write_sample
from metrics.store.versions import Store
from tools.measure_speed import (
    CACHED_GOAL_S,
    first_page,
    measure,
    open_first,
    report,
    table,
    wait_for_warming,
)

# The goal (CACHED_GOAL_S, one second) is what the README's figures show. This machine's speed
# itself varies: the same cached page run under AppTest took 0.055 s in one hour and 0.11 s in
# the next, with nothing else running. So the suite fails at twice the goal: a regression, not
# a slow hour. speed.json records whether each median met the goal itself.
LIMIT_S = 2 * CACHED_GOAL_S

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "test-artifacts" / "speed.json"
REPEATS = 5


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("speed")
    write_sample(Store(path), seed=7, scale=0.05)
    return path


@pytest.mark.timeout(1200)
def test_cached_interactions_answer_within_a_second(app_server, page, data_dir):
    base = app_server(data_dir)
    server_pid = app_server.procs[-1].pid  # `streamlit run` itself: its CPU time per click
    first_view = {"warm_wait_s": wait_for_warming(app_server.logs[-1], 300)}
    assert first_view["warm_wait_s"] is not None, "the server never logged its caches warm"
    first_view["open"] = open_first(page, base, 180_000)
    r = first_page(page, server_pid=server_pid)
    first_view.update(first_page=r["total"], first_page_server_cpu=r["server_cpu"])
    data = measure(page, base, repeats=REPEATS, warmup=1, server_pid=server_pid,
                   log=lambda s: None)
    result = report(data, store=str(data_dir), base_url=base, repeats=REPEATS,
                    first_view=first_view)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print("\n" + table(result))

    assert first_view["first_page"] < LIMIT_S, (
        f"first view of 问题解决 after start-up took {first_view['first_page']:.3f} s; see {OUT}")
    for name, entry in data.items():
        assert len(entry["runs"]) == REPEATS, name
    slow = {name: f"{e['median']:.3f} s (server CPU {e['server_cpu_median']:.3f} s)"
            for name, e in data.items() if e["median"] >= LIMIT_S}
    assert not slow, (
        f"median click-to-finished time of cached interactions ≥ {LIMIT_S} s: {slow} "
        f"(load average {result['machine']['loadavg_1_5_15']}); see {OUT}")
