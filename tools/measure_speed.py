"""How fast does the dashboard answer a click? Measured in a real Chromium.

    python tools/measure_speed.py --data-dir DIR [--repeats 5] [--out test-artifacts/speed.json]
    python tools/measure_speed.py --base-url http://127.0.0.1:8501 [...]   # a running server

Starts ``streamlit run serve.py`` on DIR (unless ``--base-url`` is given), opens it in
/usr/bin/chromium and times, from the click to the moment the app reports its script run
finished (``[data-testid=stApp]`` ``data-test-script-state`` back to ``notRunning``):

* ``period``  — 问题解决: choose another month in 统计月份 (alternating the latest two months)
* ``filter``  — 问题解决: choose 12345热线 in 工单来源 (timed), then clear it again
* ``drill``   — 问题解决: click a district's bar in the ranking chart (city → district)
* ``back``    — 问题解决: click the 全市 breadcrumb (district → city)
* ``page``    — click 总览 / 问题解决 in the sidebar navigation (alternating)

Before those, right after start-up, the first views: the time the server needs to warm its
caches (ui/warm.py; read from its log), opening 总览 (navigation to script finished, including
loading the page itself), and the first click to 问题解决 (``first_page``: a selection's first
view, served from the caches the warming filled; goal ≤ 1 s).

All on the work orders, the table that grows to tens of millions of rows (the bench store
holds only units and orders, so the other domains' pages would be empty there).

Each interaction runs once cold (the first time: nothing cached), then ``--warmup`` more times,
then ``--repeats`` measured times (every result then comes from the caches). The clock is the
page's own ``performance.now()``: the start is read just before the mouse click, the end is the
last script-state change before the app settled. The server's own CPU seconds per click are
recorded too (from /proc, when the server runs here): unlike wall time they do not depend on
how busy the machine is, and so is the server's resident memory after the clicks (and its
peak). Prints a table; writes JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SERVER_LOG = REPO / "test-artifacts" / "measure_speed-server.log"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
APP = '[data-testid="stApp"]'
INTERACTIONS = ("period", "filter", "drill", "back", "page")
CACHED_GOAL_S = 1.0
FIRST_VIEW_GOAL_S = 1.0
WARMED_LINE = "gridboard: cache warmed"  # what ui/warm.py logs when it has finished
WARMING_OFF_LINE = "gridboard: cache warming switched off"  # ... or when it is off
FILTER_SOURCE = "12345热线"

_OBSERVE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (window.__gbObserver) window.__gbObserver.disconnect();
  window.__gbStates = [];
  window.__gbObserver = new MutationObserver(records => {
    for (const r of records) window.__gbStates.push([performance.now(), r.oldValue,
                                                      app.getAttribute('data-test-script-state')]);
  });
  window.__gbObserver.observe(app, {attributes: true, attributeOldValue: true,
                                    attributeFilter: ['data-test-script-state']});
  return performance.now();
}"""


# --- waiting --------------------------------------------------------------------------------


def wait_settled(page, timeout_ms: float = 180_000) -> None:
    """Connected, script finished, nothing running, no skeletons, no exception."""
    page.wait_for_timeout(250)  # let a just-triggered rerun start
    page.locator(f'{APP}[data-test-connection-state="CONNECTED"]').wait_for(
        state="attached", timeout=timeout_ms)
    page.locator(f'{APP}[data-test-script-state="notRunning"]').wait_for(
        state="attached", timeout=timeout_ms)
    page.locator('[data-testid="stStatusWidgetRunningIcon"]').wait_for(
        state="detached", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while page.locator('[data-testid="stSkeleton"]').count() and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    errors = page.locator('[data-testid="stException"]')
    if errors.count():
        raise RuntimeError("the app raised:\n" + "\n".join(errors.all_inner_texts()))


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of process ``pid`` so far (Linux /proc), None if unknown."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int | None) -> dict | None:
    """The process's resident memory now and at its peak (Linux /proc), None if unknown."""
    if pid is None:
        return None
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    kib = {ln.split(":")[0]: int(ln.split()[1]) for ln in lines if ln.startswith(("VmRSS", "VmHWM"))}
    return {"rss_mb": round(kib.get("VmRSS", 0) / 1024, 1),
            "peak_rss_mb": round(kib.get("VmHWM", 0) / 1024, 1)}


def _timed(page, action, timeout_ms: float = 180_000, server_pid: int | None = None) -> dict:
    """Run ``action()`` (one click); seconds from the click to the last script-state change,
    and the server's CPU seconds spent meanwhile (independent of how busy the machine is)."""
    cpu0 = cpu_seconds(server_pid)
    start = page.evaluate(_OBSERVE)
    action()
    wait_settled(page, timeout_ms)
    cpu1 = cpu_seconds(server_pid)
    states = page.evaluate("window.__gbStates")
    if not states:  # on a busy machine the run may start after wait_settled's first look
        try:
            page.wait_for_function("window.__gbStates.length > 0", timeout=10_000)
        except Exception:
            raise RuntimeError("the click did not start a script run") from None
        wait_settled(page, timeout_ms)
        states = page.evaluate("window.__gbStates")
    ran = [t for t, _old, new in states if new in ("running", "rerunRequested")]
    end = states[-1][0]
    return {"total": (end - start) / 1000,
            "to_start": ((ran[0] - start) / 1000) if ran else None,
            "script": ((end - ran[0]) / 1000) if ran else None,
            "server_cpu": (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None}


# --- the interactions -----------------------------------------------------------------------


def goto(page, base_url: str, path: str, timeout_ms: float) -> None:
    page.goto(base_url.rstrip("/") + "/" + path, wait_until="domcontentloaded")
    wait_settled(page, timeout_ms)


def wait_for_warming(log_path: Path, timeout_s: float = 600) -> float | None:
    """Seconds until the server's log says its caches are warm (ui/warm.py); None when it did
    not say so within ``timeout_s`` (warming switched off, or an empty store)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        try:
            text = Path(log_path).read_text(errors="replace")
            if WARMED_LINE in text:
                return round(time.monotonic() - t0, 2)
            if WARMING_OFF_LINE in text:
                return None
        except OSError:
            pass
        time.sleep(0.2)
    return None


def open_first(page, base_url: str, timeout_ms: float) -> float:
    """Open 总览 (the server's first visitor): seconds from navigation to the script run
    finished, the page's own loading included."""
    t0 = time.monotonic()
    page.goto(base_url.rstrip("/") + "/", wait_until="domcontentloaded")
    page.locator(f'{APP}[data-test-script-state="notRunning"]').wait_for(
        state="attached", timeout=timeout_ms)
    page.locator('[data-testid="stStatusWidgetRunningIcon"]').wait_for(
        state="detached", timeout=timeout_ms)
    seconds = time.monotonic() - t0
    wait_settled(page, timeout_ms)
    return round(seconds, 3)


def first_page(page, *, timeout_ms: float = 180_000, server_pid: int | None = None) -> dict:
    """From 总览 (just opened), the first click to 问题解决 after start-up: a selection's first
    view, timed like ``page`` (``_timed``)."""
    link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="问题解决")
    return _timed(page, link.click, timeout_ms, server_pid)


def _bar_point(page, chart_key: str) -> dict:
    chart = page.locator(f".st-key-{chart_key}")
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(150)
    point = chart.locator(".plotly").first.evaluate(
        """root => {
            let best = null;
            for (const p of root.querySelectorAll('.barlayer .point path')) {
                const r = p.getBoundingClientRect();
                if (!best || r.width > best.width) best = r;   // the longest bar: easy to hit
            }
            return best && {x: best.left + best.width / 2, y: best.top + best.height / 2};
        }""")
    if point is None:
        raise RuntimeError(f"no bars in the {chart_key} chart")
    return point


def _period_click(page, month: str):
    page.locator('.st-key-period [role="combobox"]').click()
    option = page.locator('[role="option"]').filter(has_text=month).first
    option.wait_for(state="visible")
    return option.click


def measure(page, base_url: str, *, repeats: int = 5, warmup: int = 1,
            timeout_ms: float = 180_000, server_pid: int | None = None, log=print) -> dict:
    """Time every interaction: 1 cold + ``warmup`` + ``repeats`` measured runs each.
    ``server_pid`` (the Streamlit process) adds the server's CPU seconds per click."""
    out: dict[str, dict] = {name: {"runs": [], "detail": []} for name in INTERACTIONS}

    def timed(page, action, timeout_ms):
        return _timed(page, action, timeout_ms, server_pid)

    def record(name: str, i: int, result: dict) -> None:
        entry = out[name]
        if i == 0:
            entry["cold"] = result["total"]
        elif i > warmup:
            entry["runs"].append(result["total"])
            entry["detail"].append(result)
        cpu = result.get("server_cpu")
        log(f"  {name:<7} #{i:<2} {result['total']:.3f} s"
            + (f"  server CPU {cpu:.2f} s" if cpu is not None else "")
            + ("  (cold)" if i == 0 else "  (warm-up)" if i <= warmup else ""))

    # period: 问题解决, alternate the two latest months
    goto(page, base_url, "issues", timeout_ms)
    months = page.locator('.st-key-period [role="combobox"]')
    months.click()
    options = page.locator('[role="option"]').all_inner_texts()
    page.keyboard.press("Escape")
    if len(options) < 2:
        raise RuntimeError("the data has fewer than two months")
    latest, before = options[0].strip(), options[1].strip()
    for i in range(1 + warmup + repeats):
        for month in (before, latest):
            click = _period_click(page, month)
            result = timed(page, click, timeout_ms)
            if month == before:
                if f"period={before}" not in page.url:
                    raise RuntimeError(f"the month was not chosen: {page.url}")
                record("period", i, result)

    # filter: 问题解决, 工单来源 = 12345热线 (timed), then cleared by Backspace (not timed)
    source = page.locator('.st-key-source [role="combobox"]')
    for i in range(1 + warmup + repeats):
        source.click()  # the list opens before the clock starts, as for the month
        option = page.locator('[role="option"]').filter(has_text=FILTER_SOURCE).first
        option.wait_for(state="visible")
        record("filter", i, timed(page, option.click, timeout_ms))
        if "source=" not in page.url:
            raise RuntimeError(f"the source filter was not set: {page.url}")
        page.keyboard.press("Escape")

        def clear_source():
            source.click()
            page.keyboard.press("Backspace")
        timed(page, clear_source, timeout_ms)
        page.keyboard.press("Escape")
        if "source=" in page.url:
            raise RuntimeError(f"the source filter was not cleared: {page.url}")

    # drill and back: 问题解决, a ranking bar at city level, then the 全市 breadcrumb
    goto(page, base_url, "issues", timeout_ms)
    for i in range(1 + warmup + repeats):
        point = _bar_point(page, "rank_issues")
        record("drill", i, timed(page, lambda p=point: page.mouse.click(p["x"], p["y"]),
                                 timeout_ms))
        if "unit=" not in page.url:
            raise RuntimeError(f"the bar click did not drill down: {page.url}")
        crumb = page.locator(".st-key-crumb_0 button")
        crumb.scroll_into_view_if_needed()
        record("back", i, timed(page, crumb.click, timeout_ms))
        if "unit=" in page.url:
            raise RuntimeError(f"the breadcrumb did not go back: {page.url}")

    # page: the sidebar navigation, 总览 ⇄ 问题解决
    for i in range(1 + warmup + repeats):
        for title in ("问题解决", "总览"):
            link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title)
            result = timed(page, link.click, timeout_ms)
            if title == "问题解决":
                record("page", i, result)

    for entry in out.values():
        runs = entry["runs"]
        entry["median"] = statistics.median(runs) if runs else None
        entry["max"] = max(runs) if runs else None
        entry["min"] = min(runs) if runs else None
        cpu = [d["server_cpu"] for d in entry["detail"] if d.get("server_cpu") is not None]
        entry["server_cpu_median"] = statistics.median(cpu) if cpu else None
    return out


def cpu_probe_seconds(n: int = 2_000_000) -> float:
    """CPU seconds of a fixed pure-Python loop: how fast this machine is right now (shared
    virtual machines vary by a factor of two from hour to hour), to read the figures by."""
    start = time.process_time()
    x = 0
    for i in range(n):
        x += i
    return round(time.process_time() - start, 3)


def report(data: dict, *, store: str, base_url: str, repeats: int,
           first_view: dict | None = None) -> dict:
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    for entry in data.values():
        entry["met_goal"] = entry.get("median") is not None and entry["median"] < CACHED_GOAL_S
    return {
        "measured_at": dt.datetime.now().replace(microsecond=0).isoformat(),
        "data_dir": store, "base_url": base_url, "repeats": repeats,
        "goal_cached_median_s": CACHED_GOAL_S,
        "machine": {"cpus": os.cpu_count(), "loadavg_1_5_15": load,
                    "cpu_probe_s": cpu_probe_seconds()},
        "interactions": data,
        "first_view": first_view,
        "goal_first_view_s": FIRST_VIEW_GOAL_S,
    }


def table(result: dict) -> str:
    rows = [f"{'interaction':<10}{'cold s':>9}{'median s':>10}{'max s':>9}{'min s':>9}"
            f"{'server CPU s':>14}  goal"]
    for name, e in result["interactions"].items():
        ok = e["median"] is not None and e["median"] < result["goal_cached_median_s"]
        cpu = e.get("server_cpu_median")
        rows.append(f"{name:<10}{e.get('cold', float('nan')):>9.3f}{e['median']:>10.3f}"
                    f"{e['max']:>9.3f}{e['min']:>9.3f}"
                    f"{(f'{cpu:.3f}' if cpu is not None else '—'):>14}  {'ok' if ok else 'SLOW'}")
    fv = result.get("first_view")
    if fv:
        ok = fv["first_page"] <= result["goal_first_view_s"]
        warm = fv.get("warm_wait_s")
        rows.append(f"first views after start-up: caches warm after "
                    f"{'—' if warm is None else f'{warm:.1f} s'}; 总览 opened in "
                    f"{fv['open']:.3f} s; first click to 问题解决 {fv['first_page']:.3f} s  "
                    f"{'ok' if ok else 'SLOW'}")
    load = result["machine"]["loadavg_1_5_15"]
    probe = result["machine"].get("cpu_probe_s")
    rows.append(f"({result['repeats']} cached runs each; {result['machine']['cpus']} CPUs, "
                f"load average {load[0]:.1f}"
                + (f"; CPU probe {probe:.2f} s" if probe is not None else "") + ")" if load else "")
    return "\n".join(rows)


# --- a server and a browser of our own ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, log_path: Path, timeout_s: float = 120) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    venv_python = REPO / ".venv" / "bin" / "python"
    python = str(venv_python) if venv_python.exists() else sys.executable
    env = dict(os.environ, GRIDBOARD_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [python, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            pass
        time.sleep(0.25)
    stop_server(proc)
    raise RuntimeError(f"streamlit did not start in {timeout_s:.0f} s; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", help="data dir to serve (a fresh server is started)")
    ap.add_argument("--base-url", help="measure an already running server instead")
    ap.add_argument("--server-pid", type=int,
                    help="with --base-url: the server's pid, to report its CPU time per click")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per interaction")
    ap.add_argument("--out", default=str(REPO / "test-artifacts" / "speed.json"))
    args = ap.parse_args(argv)
    if not args.data_dir and not args.base_url:
        ap.error("give --data-dir or --base-url")

    from playwright.sync_api import sync_playwright

    proc = None
    try:
        if args.base_url:
            base_url = args.base_url
        else:
            print(f"starting streamlit on {args.data_dir} …", flush=True)
            proc, base_url = start_server(Path(args.data_dir), SERVER_LOG)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1600, "height": 1000},
                                          locale="zh-CN", timezone_id="Asia/Shanghai")
            page = context.new_page()
            server_pid = proc.pid if proc is not None else args.server_pid
            first_view = {"warm_wait_s": None}
            if proc is not None:
                first_view["warm_wait_s"] = wait_for_warming(SERVER_LOG, args.timeout)
            first_view["open"] = open_first(page, base_url, args.timeout * 1000)
            r = first_page(page, timeout_ms=args.timeout * 1000, server_pid=server_pid)
            first_view.update(first_page=r["total"], first_page_server_cpu=r["server_cpu"])
            print(f"first views: 总览 {first_view['open']:.2f} s, then 问题解决 "
                  f"{first_view['first_page']:.2f} s", flush=True)
            data = measure(page, base_url, repeats=args.repeats, warmup=args.warmup,
                           timeout_ms=args.timeout * 1000,
                           server_pid=proc.pid if proc is not None else args.server_pid,
                           log=lambda s: print(s, flush=True))
            browser.close()
            server_memory = memory_mb(server_pid)
    finally:
        if proc is not None:
            stop_server(proc)
    result = report(data, store=str(args.data_dir or ""), base_url=base_url,
                    repeats=args.repeats, first_view=first_view)
    result["server_memory"] = server_memory
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(table(result))
    if server_memory:
        print(f"server RSS after the clicks {server_memory['rss_mb']:,.0f} MB "
              f"(peak {server_memory['peak_rss_mb']:,.0f} MB)")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
