"""README.md as a user follows it: every CLI example runs as written (exit 0), the address
``make run`` binds is the one the README states, and ``make help`` prints the values in effect.

The examples run in order in a temporary directory (their ``--out`` files land there) against a
data dir that starts empty (``GRIDBOARD_DATA_DIR``; a ``--data-dir`` in an example is pointed at
it too): the first example writes the small demo city the others read. ``.venv/bin/python`` is
this repository's interpreter; an ``ingest`` example's file is made from the store first (an
extract of the latest month, as an analyst would export it).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests import upload_helpers as H

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
PREFIX = ".venv/bin/python -m metrics "
PASSWORD = "a long enough password 1"


def fenced_lines(text: str) -> list[str]:
    """Every line inside a ``` block."""
    out, inside = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
            continue
        if inside:
            out.append(line.strip())
    return out


def cli_examples() -> list[str]:
    return [line for line in fenced_lines(README) if line.startswith(PREFIX)]


def argv(example: str, data_dir: Path) -> list[str]:
    words = shlex.split(example, comments=True)
    assert words[:3] == [".venv/bin/python", "-m", "metrics"], example
    python = REPO / ".venv" / "bin" / "python"
    words[0] = str(python) if python.exists() else sys.executable
    for i, w in enumerate(words[:-1]):
        if w == "--data-dir":
            words[i + 1] = str(data_dir)
    return words


def test_readme_has_the_cli_examples():
    examples = cli_examples()
    commands = {shlex.split(e, comments=True)[3] for e in examples}
    assert {"sample", "ingest", "report", "versions", "rollback", "template", "export",
            "user", "schedule"} <= commands
    # Every CLI line in a command block is runnable as written: no python on the PATH, no
    # usage brackets.
    for line in fenced_lines(README):
        assert not re.match(r"^python3? ", line), line
        if line.startswith(PREFIX):
            assert not re.search(r"\[[A-Z-]+", line.split("#")[0]), line


@pytest.mark.timeout(900)
def test_every_cli_example_runs_as_written(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    data_dir = tmp_path / "store"
    env = dict(os.environ, GRIDBOARD_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    ran = []
    for example in cli_examples():
        args = argv(example, data_dir)
        if args[3] == "ingest":  # the extract the example names, exported from the store
            (work / args[5]).write_bytes(
                H.chinese_xlsx(H.latest_open_issues(data_dir), args[4]))
        stdin = f"{PASSWORD}\n" if "--password-stdin" in args else ""
        proc = subprocess.run(args, cwd=work, env=env, input=stdin, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, f"{example}\nexit {proc.returncode}\n{proc.stderr[-2000:]}"
        ran.append(args[3:5])
        for i, w in enumerate(args[:-1]):
            if w == "--out":
                out = work / args[i + 1]
                assert out.is_file() and out.stat().st_size > 0, example
    assert ["sample", "--seed"] in ran and len(ran) == len(cli_examples())


def make(*args: str) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("GRIDBOARD_DATA_DIR", "PORT", "ADDRESS", "DATA_DIR", "REQUIRE_LOGIN",
                        "MAKEFLAGS")}
    proc = subprocess.run(["make", "-s", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def makefile_default(name: str) -> str:
    m = re.search(rf"^{name} \?= *(\S*)", (REPO / "Makefile").read_text(), re.M)
    assert m, name
    return m.group(1)


def test_readme_states_the_address_make_run_binds():
    address, port = makefile_default("ADDRESS"), makefile_default("PORT")
    dry = make("-n", "run", "STAMP=Makefile")  # the command, without building the venv
    assert f"--server.address {address}" in dry and f"--server.port {port}" in dry
    assert "streamlit run serve.py" in dry
    assert f"{address}:{port}" in README
    assert "make run ADDRESS=127.0.0.1" in README
    (run_line,) = [ln for ln in fenced_lines(README) if ln.startswith("make run")]
    assert f"{address}:{port}" in run_line


def test_make_run_passes_data_dir_and_require_login():
    dry = make("-n", "run", "STAMP=Makefile", "DATA_DIR=/srv/gb", "REQUIRE_LOGIN=1",
               "PORT=8623", "ADDRESS=127.0.0.1")
    assert "GRIDBOARD_DATA_DIR=/srv/gb" in dry and "GRIDBOARD_REQUIRE_LOGIN=1" in dry
    assert "--server.port 8623 --server.address 127.0.0.1" in dry
    plain = make("-n", "run", "STAMP=Makefile")
    assert "GRIDBOARD_DATA_DIR" not in plain and "GRIDBOARD_REQUIRE_LOGIN" not in plain


def test_make_help_prints_the_values_in_effect():
    out = make("help")
    assert "make run" in out and "make test" in out
    rows = dict(re.findall(r"^  (ADDRESS|PORT|DATA_DIR|REQUIRE_LOGIN|python) +(\S+)", out, re.M))
    assert rows == {"ADDRESS": "0.0.0.0", "PORT": "8501", "DATA_DIR": "data/store",
                    "REQUIRE_LOGIN": "off", "python": ".venv/bin/python"}, out
    if (REPO / ".venv" / "bin" / "python").exists():
        assert re.search(r"\.venv/bin/python \(Python 3\.\d+\.\d+\)", out), out
    assert "http://127.0.0.1:8501" in out
    custom = make("help", "PORT=8624", "ADDRESS=127.0.0.1", "DATA_DIR=/srv/gb", "REQUIRE_LOGIN=1")
    rows = dict(re.findall(r"^  (ADDRESS|PORT|DATA_DIR|REQUIRE_LOGIN) +(\S+)", custom, re.M))
    assert rows == {"ADDRESS": "127.0.0.1", "PORT": "8624", "DATA_DIR": "/srv/gb",
                    "REQUIRE_LOGIN": "1"}, custom


def test_readme_explains_accounts_roles_and_going_live():
    m = re.search(r"^## 账户、角色与上线.*?(?=^## )", README, re.M | re.S)
    assert m, "no 账户、角色与上线 section"
    section = m.group(0)
    for word in ("浏览者", "数据分析员", "管理员", "viewer", "analyst", "admin", "Scope",
                 "--role admin --password-stdin", "REQUIRE_LOGIN=1", "GRIDBOARD_REQUIRE_LOGIN",
                 "浏览者须登录", "session_hours", "示例数据", "DATA_DIR=", "Back up", "tar czf"):
        assert word in section, word
