"""Which data dir to use, and the demo city (示例数据) that fills the default one.

Shared by the CLI, the app and scheduled runs: ``--data-dir``, else ``$GRIDBOARD_DATA_DIR``, else
``data/store`` — and only that default fills itself with the demo city on first use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from metrics.settings import load_settings
from metrics.store.versions import DEMO_MARKER, DEMO_USER, Store

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PACKAGE_ROOT / "data" / "store"


def resolve_data_dir(explicit: str | None) -> tuple[Path, bool]:
    """(data dir, is it the default one). --data-dir, else $GRIDBOARD_DATA_DIR, else data/store."""
    if explicit:
        return Path(explicit), False
    env = os.environ.get("GRIDBOARD_DATA_DIR")
    if env:
        return Path(env), False
    return DEFAULT_DATA_DIR, True


def ensure_demo(data_dir: Path, is_default: bool) -> None:
    """Only the default data dir fills itself with the demo city, on first use only (not
    again once the demo city has been cleared: ``Store.clear_demo``)."""
    store = Store(data_dir)
    if is_default and store.is_fresh():
        write_sample(store, seed=2026, scale=1.0)


def write_sample(store: Store, *, seed: int, scale: float) -> list[dict]:
    # Imported here: the generator and the ingest are only needed the first time, not on every
    # start of the CLI or the app.
    from metrics.demo.city import generate_city
    from metrics.store.ingest import ingest_frames

    frames = generate_city(seed=seed, scale=scale)
    settings = load_settings(store.root)
    out = ingest_frames(store, frames, user=DEMO_USER, settings=settings)
    (store.root / DEMO_MARKER).write_text(json.dumps({"seed": seed, "scale": scale}),
                                          encoding="utf-8")
    _write_demo_boundaries(store, frames["units"], seed)
    return out


def _write_demo_boundaries(store: Store, units: pd.DataFrame, seed: int) -> None:
    from metrics.contract.boundaries import generate_boundaries

    fc = generate_boundaries(units, seed=seed)
    (store.root / "boundaries.geojson").write_text(json.dumps(fc, ensure_ascii=False),
                                                   encoding="utf-8")


def is_demo(data_dir: Path) -> bool:
    """True while any table still holds the demo city: a page mixing one uploaded table with
    demo tables still shows demo numbers (the 示例数据 label goes only when none is left)."""
    marker = Path(data_dir) / DEMO_MARKER
    if not marker.exists():
        return False
    return bool(Store(data_dir).demo_tables())
