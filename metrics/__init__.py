"""Gridboard (网格治理看板): store, validation, metrics, exports and CLI — no UI here."""
