"""The suite collects as one: pytest's default import mode needs unique test module names.

Runs without the browser tests still see the browser folder, so a clash is caught by the
quick suite too, not only by CI.
"""
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).parent


def test_no_two_test_modules_share_a_file_name():
    names = Counter(p.name for p in TESTS.rglob("test_*.py") if ".venv" not in p.parts)
    clashes = sorted(name for name, count in names.items() if count > 1)
    assert clashes == [], f"test modules with the same file name: {clashes}"
