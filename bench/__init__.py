"""Gridboard benchmarks (``make bench`` = ``python -m bench``).

One run generates a synthetic store (``metrics.demo.city.generate_city``; default 10 million work
orders), then measures on that same data:

* ingest: units first, then the orders extract through the real pipeline
  (``metrics.store.ingest.ingest``: read → validate → stage → merge/sort → aggregates → publish),
  in a child process whose peak RSS is the ingest's own;
* the product: ``metrics.db.connect`` (timed apart: pages cache the connection per data
  version), then the median latency of a street-level 问题解决 report for one month and for a
  12-month range on that warm connection;
* a straightforward pandas baseline for the same two reports (read the Parquet of raw orders,
  groupby street), checked EQUAL to the product's numbers before any ratio is printed.

Every phase runs in its own child process (spawned, not forked), so each peak RSS is that
phase's alone. Results: a table on stdout and ``bench/out/results.json``.
"""
