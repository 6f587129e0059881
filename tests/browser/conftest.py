"""Real-browser test harness: a Streamlit server per test and Debian's Chromium.

Fixtures
--------
``app_server``   factory: ``app_server(data_dir, env=None) -> base_url`` (also ``.start``)
                 starts ``streamlit run serve.py`` (app.py with the login-session
                 routes, as ``make run``) on a free 127.0.0.1 port with
                 ``GRIDBOARD_DATA_DIR=data_dir``; waits for ``/_stcore/health``;
                 killed (whole process group) at teardown; log in
                 ``test-artifacts/server-<test>-<port>.log``.
``browser``      session-scoped Playwright Chromium (``/usr/bin/chromium``).
``page``         fresh context (1600x1000, zh-CN) + page. Records every request in
                 ``page.requests_seen`` (also the ``requests_seen`` fixture); at teardown
                 the test FAILS if any went to a host other than 127.0.0.1/localhost
                 (such requests are aborted, so an offline site never hangs on them).
                 Failed tests get a ``FAILED-<test>.png`` screenshot automatically.
``wait_for_streamlit``, ``screenshot``, ``open_app``, ``free_port``: the helpers
                 below, as fixtures, for tests that prefer not to import conftest.

Helpers
-------
``wait_for_streamlit(page, timeout_ms=60_000, allow_exception=False)`` waits until
``[data-testid=stApp]`` has ``data-test-connection-state="CONNECTED"`` and
``data-test-script-state="notRunning"`` (Streamlit 1.67 sets it to ``initial``
before the first run, then ``running``/``rerunRequested``/``notRunning``), the
status widget's running icon is gone and no skeletons are left. It raises if the
script showed an exception (``stException``) unless ``allow_exception``.
``screenshot(page, name) -> Path`` waits for web fonts, saves a full-page PNG to
``test-artifacts/screenshots/<name>.png`` (Streamlit scrolls inside ``stMain``, so
the viewport is temporarily grown to the content height).
``open_app(page, base_url, path="")`` = goto + wait_for_streamlit.

Every test in this directory is marked ``browser`` and gets a 600 s timeout
unless it sets its own ``@pytest.mark.timeout``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tools.measure_speed import stop_server

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
NETWORK_SCHEMES = {"http", "https", "ws", "wss", "ftp"}
SERVER_START_TIMEOUT_S = 60
BROWSER_TEST_TIMEOUT_S = 600
HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- hooks


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(BROWSER_TEST_TIMEOUT_S))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"rep_{report.when}", report)  # lets fixtures see the test outcome
    return report


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_")[:120] or "x"


def is_local_url(url: str) -> bool:
    """True for URLs that stay on this machine (or aren't network URLs at all)."""
    parts = urlsplit(url)
    if parts.scheme not in NETWORK_SCHEMES:
        return True  # data:, blob:, about:, chrome-extension: ...
    host = (parts.hostname or "").lower()
    return host in LOCAL_HOSTS or host.startswith("127.")


def wait_for_streamlit(
    page: Page, timeout_ms: float = 60_000, allow_exception: bool = False
) -> None:
    """Block until Streamlit has connected and finished running the script."""
    page.wait_for_timeout(250)  # let a just-triggered rerun (widget debounce) start
    app = '[data-testid="stApp"]'
    page.locator(f'{app}[data-test-connection-state="CONNECTED"]').wait_for(
        state="attached", timeout=timeout_ms
    )
    page.locator(f'{app}[data-test-script-state="notRunning"]').wait_for(
        state="attached", timeout=timeout_ms
    )
    page.locator('[data-testid="stStatusWidgetRunningIcon"]').wait_for(
        state="detached", timeout=timeout_ms
    )
    page.locator('[data-testid="stAppViewContainer"]').wait_for(state="visible", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while page.locator('[data-testid="stSkeleton"]').count() and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    if not allow_exception:
        errors = page.locator('[data-testid="stException"]')
        if errors.count():
            raise AssertionError(
                "the Streamlit script raised:\n" + "\n---\n".join(errors.all_inner_texts())
            )


def open_app(page: Page, base_url: str, path: str = "", **wait_kwargs) -> Page:
    """Navigate to ``base_url + path`` and wait for the script run to finish."""
    page.goto(base_url.rstrip("/") + "/" + path.lstrip("/"), wait_until="domcontentloaded")
    wait_for_streamlit(page, **wait_kwargs)
    return page


def screenshot(page: Page, name: str) -> Path:
    """Full-page PNG at test-artifacts/screenshots/<name>.png (returns the path)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_slug(name)}.png"
    page.evaluate("document.fonts.ready.then(() => true)")
    size = page.viewport_size
    content_h = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
             ...[...document.querySelectorAll(
                 '[data-testid="stMain"], [data-testid="stAppViewContainer"], section.main')]
               .map(e => e.scrollHeight + e.getBoundingClientRect().top))"""
    )
    grow = size is not None and content_h > size["height"]
    if grow:
        page.set_viewport_size({"width": size["width"], "height": min(int(content_h), 16_000)})
        page.wait_for_timeout(300)
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if grow:
            page.set_viewport_size(size)
    return path


# --------------------------------------------------------------------------- server


class AppServer:
    """Factory for Streamlit servers; every server started is stopped at teardown."""

    def __init__(self, test_name: str) -> None:
        self.test_name = _slug(test_name)
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.base_url: str | None = None

    def __call__(self, data_dir: Path, env: dict[str, str | None] | None = None) -> str:
        return self.start(data_dir, env)

    def start(self, data_dir: Path, env: dict[str, str | None] | None = None) -> str:
        """Start ``streamlit run serve.py``; return ``http://127.0.0.1:PORT``.

        ``env`` entries override the inherited environment (``None`` removes one).
        """
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _attempt in range(3):  # the free port may be taken between probe and bind
            port = free_port()
            proc, log = self._spawn(port, data_dir, env)
            ok, last_error = self._wait_healthy(proc, port, log)
            if ok:
                self.base_url = f"http://127.0.0.1:{port}"
                return self.base_url
            stop_server(proc)
            if "already in use" not in last_error:
                break
        raise RuntimeError(f"Streamlit did not become healthy:\n{last_error}")

    def _spawn(
        self, port: int, data_dir: Path, env: dict[str, str | None] | None
    ) -> tuple[subprocess.Popen, Path]:
        venv_python = REPO / ".venv" / "bin" / "python"
        python = str(venv_python) if venv_python.exists() else sys.executable
        full_env = dict(os.environ)
        full_env.update(
            GRIDBOARD_DATA_DIR=str(data_dir),
            PYTHONUNBUFFERED="1",
            STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        )
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = str(value)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log = ARTIFACTS / f"server-{self.test_name}-{port}.log"
        cmd = [
            python, "-m", "streamlit", "run", "serve.py",
            "--server.port", str(port),
            "--server.address", "127.0.0.1",
            "--server.headless", "true",
            "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        with open(log, "wb") as fh:
            fh.write(f"$ {' '.join(cmd)}\n# GRIDBOARD_DATA_DIR={data_dir}\n".encode())
            fh.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: teardown kills it whole
            )
        self.procs.append(proc)
        self.logs.append(log)
        return proc, log

    @staticmethod
    def _wait_healthy(proc: subprocess.Popen, port: int, log: Path) -> tuple[bool, str]:
        url = f"http://127.0.0.1:{port}/_stcore/health"
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False, f"exited with {proc.returncode}; log {log}:\n{_tail(log)}"
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200 and resp.read().strip() == b"ok":
                        return True, ""
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        return False, f"no 'ok' from {url} in {SERVER_START_TIMEOUT_S}s; log {log}:\n{_tail(log)}"

    def stop_all(self) -> None:
        for proc in self.procs:
            stop_server(proc)


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def app_server(request: pytest.FixtureRequest) -> Iterator[AppServer]:
    server = AppServer(request.node.name)
    yield server
    server.stop_all()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make sysdeps` (apt-get install chromium)")
    b = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )  # launch() gives every run a fresh temporary user-data-dir
    yield b
    b.close()


@pytest.fixture
def requests_seen() -> list[str]:
    """Every URL the test's browser context requested (websockets included)."""
    return []


@pytest.fixture
def page(
    browser: Browser, requests_seen: list[str], request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1600, "height": 1000}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    blocked: list[str] = []

    def _abort_external(route) -> None:
        blocked.append(route.request.url)
        route.abort()

    context.route(lambda url: not is_local_url(url), _abort_external)
    context.on("request", lambda req: requests_seen.append(req.url))
    pg = context.new_page()
    pg.on("websocket", lambda ws: requests_seen.append(ws.url))
    console_errors: list[str] = []
    pg.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: console_errors.append(f"pageerror: {exc}"))
    pg.requests_seen = requests_seen  # type: ignore[attr-defined]
    pg.console_errors = console_errors  # type: ignore[attr-defined]
    yield pg

    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        try:
            screenshot(pg, f"FAILED-{request.node.name}")
        except Exception as exc:  # noqa: BLE001 - best effort, the test already failed
            print(f"(failure screenshot not taken: {exc})")
    context.close()
    external = sorted({u for u in [*requests_seen, *blocked] if not is_local_url(u)})
    if external:
        pytest.fail(
            "the page made requests off this machine (the product must work offline):\n  "
            + "\n  ".join(external),
            pytrace=False,
        )


@pytest.fixture(name="wait_for_streamlit")
def _wait_for_streamlit_fixture() -> Callable[..., None]:
    return wait_for_streamlit


@pytest.fixture(name="screenshot")
def _screenshot_fixture() -> Callable[[Page, str], Path]:
    return screenshot


@pytest.fixture(name="open_app")
def _open_app_fixture() -> Callable[..., Page]:
    return open_app


@pytest.fixture(name="free_port")
def _free_port_fixture() -> Callable[[], int]:
    return free_port
