"""Loaded by the test server's Python (PYTHONPATH) to watch a first start in a browser test:
the default data dir points at GRIDBOARD_TEST_DEFAULT_DIR, and the demo city is a small one
made slowly (GRIDBOARD_TEST_DEMO_DELAY seconds), so the test can look at the page meanwhile."""

import os

if os.environ.get("GRIDBOARD_TEST_DEFAULT_DIR"):
    import time
    from pathlib import Path

    import metrics.datadir as _cli

    _cli.DEFAULT_DATA_DIR = Path(os.environ["GRIDBOARD_TEST_DEFAULT_DIR"])
    _real_write_sample = _cli.write_sample

    def _slow_small_sample(store, *, seed, scale):
        time.sleep(float(os.environ.get("GRIDBOARD_TEST_DEMO_DELAY", "6")))
        return _real_write_sample(store, seed=seed, scale=0.05)

    _cli.write_sample = _slow_small_sample
