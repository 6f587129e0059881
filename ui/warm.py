"""Cache warming: the reports a leader's first view asks for, computed before anyone asks.

A page's first view after the server starts, or after a publish (which clears every cache),
would otherwise open the DuckDB connection and run a few dozen report queries while the leader
waits. ``start`` does that in a background thread, through the same ``ui.cache`` functions with
the same arguments the pages pass, so the pages find the results in Streamlit's caches:
总览 and every domain page at city level for the default (latest) month — the KPI cards with
their 环比, targets, lights and the 12-month trend — and the ranking of the districts with its
lights and 督办预警 alerts.

Streamlit runs cached functions without a script run context too (its own background refresh
of ``st.cache_data`` does); concurrent callers of one key wait for a single computation, so a
leader who arrives mid-warming does not compute the same report twice. Switched off by the
``warm_cache_on_start`` setting.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from metrics.datadir import is_demo, resolve_data_dir
from metrics.domains import registry as domains
from metrics.exports.slides import HEADLINE
from metrics.settings import load_settings
from metrics.store.versions import Store

TREND_MONTHS = 12  # ui.components.trend_block's default
OFF_LINE = "cache warming switched off (warm_cache_on_start)"
PAGES = Path(__file__).resolve().parents[1] / "pages"
_lock = threading.Lock()
_pending: list[Path] = []  # data dirs asked for while a warming runs (the last one wins)
_thread: threading.Thread | None = None


def warm(data_dir: Path) -> int:
    """Compute the first view's reports of ``data_dir``'s current versions; the number of
    cached calls made (0 when switched off or the store has no data)."""
    # Imported here, not at the top: serve.py imports this module before Streamlit's runtime
    # exists, and a module of cached functions makes its caches when imported (they would take
    # a storage of their own instead of the runtime's).
    from ui import cache, state
    from ui.reader import Reader

    path = Path(data_dir)
    store = Store(path)
    settings = load_settings(path)
    if not settings.warm_cache_on_start or store.is_fresh():
        return 0
    fingerprint = store.fingerprint()
    con = cache.connection(str(path), fingerprint, settings)
    key = repr(fingerprint)
    ctx = state.Ctx(path, store, settings, store.signature(), fingerprint, con,
                    state._units(con, key), state._months(con, key), is_demo(path))
    if not ctx.months:
        return 0
    month = ctx.latest
    breakdowns = page_breakdowns()
    # Through a Reader, as the pages read: the same calls make the same cache keys.
    city = state.View(None, month, month, None)
    calls = 0
    for domain in domains.MODULES:
        r = Reader(ctx, city, domain)
        r.card()  # the KPI cards: report, 环比 (when there is an earlier period), targets, lights
        calls += 5
        level = r.child_level
        if level is not None:  # the ranking of the districts, with its lights and 督办预警
            r.report(level)
            r.targets(level)
            r.lights(level)
            calls += 3
            if domain in HEADLINE:
                r.alerts(HEADLINE[domain], level)
                calls += 1
        r.trend(TREND_MONTHS)
        calls += 1
        for by in breakdowns.get(domain, ()):
            r.breakdown(by)
            calls += 1
    return calls


def page_breakdowns() -> dict[str, tuple[str, ...]]:
    """Each domain page's 分项 (``DomainPage(domain=…, breakdowns=[Breakdown(by, …), …])`` in
    pages/*.py), drawn on its first view. Read from the page files' syntax: a page is a script,
    and importing one would draw it."""
    import ast

    out: dict[str, tuple[str, ...]] = {}
    for path in sorted(PAGES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DomainPage"):
                continue
            kw = {k.arg: k.value for k in node.keywords}
            domain = kw.get("domain")
            items = kw.get("breakdowns")
            if not isinstance(domain, ast.Constant) or not isinstance(items, ast.List):
                continue
            out[domain.value] = tuple(
                b.args[0].value for b in items.elts
                if isinstance(b, ast.Call) and b.args and isinstance(b.args[0], ast.Constant))
    return out


def start(data_dir: Path | None = None, *, wait_for_runtime: bool = False) -> bool:
    """Warm ``data_dir`` (default: the app's data dir) in a daemon thread; False when switched
    off. A call while a warming runs queues one more pass (a publish during start-up warms the
    new versions after the old ones)."""
    global _thread
    if data_dir is None:  # the data dir ui.state.data_dir() resolves
        data_dir = resolve_data_dir(os.environ.get("GRIDBOARD_DATA_DIR"))[0]
    path = Path(data_dir)
    if not load_settings(path).warm_cache_on_start:
        print(f"gridboard: {OFF_LINE}", file=sys.stderr)
        return False
    with _lock:
        _pending.append(path)
        if _thread is not None and _thread.is_alive():
            return True
        _thread = threading.Thread(target=_run, args=(wait_for_runtime,), name="gridboard-warm",
                                   daemon=True)
        _thread.start()
    return True


def _run(wait_for_runtime: bool) -> None:
    if wait_for_runtime:
        _wait_for_runtime()
    while True:
        with _lock:
            if not _pending:
                return
            path = _pending.pop()
            _pending.clear()
        t0 = time.perf_counter()
        try:
            n = warm(path)
        except Exception as e:  # a warming that fails leaves the pages to compute as before
            print(f"gridboard: cache warming failed: {e!r}", file=sys.stderr)
            continue
        if n:
            print(f"gridboard: cache warmed ({n} reports, {time.perf_counter() - t0:.1f} s)",
                  file=sys.stderr)


def _wait_for_runtime(timeout: float = 60.0) -> None:
    """At server start the runtime (whose cache storage the pages use) exists only once
    Streamlit has started serving; caches made before that would be a separate store."""
    from streamlit import runtime

    deadline = time.monotonic() + timeout
    while not runtime.exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def wait(timeout: float | None = None) -> None:
    """Until the current warming has finished (tests, tools)."""
    t = _thread
    if t is not None:
        t.join(timeout)
