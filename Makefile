# Gridboard (网格治理看板) — build, run and test.
#   make run      start the dashboard on http://$(ADDRESS):$(PORT)
#   make test     install system deps if needed, then the whole pytest suite (browser tests too)
#   make lint     ruff
#   make bench    benchmarks (bench/)
#   make fonts    rebuild static/fonts/*.woff2 from Debian's Noto Sans CJK
#   make clean    remove caches and test artifacts (make distclean: the venv too)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
ADDRESS ?= 0.0.0.0
PYTEST_ARGS ?=
ARTIFACTS := test-artifacts
CHROMIUM := /usr/bin/chromium
APT_PACKAGES := chromium fonts-noto-cjk openjdk-17-jre-headless

.PHONY: help venv .venv run sysdeps test bench lint fonts clean distclean

help:
	@sed -n '2,8s/^# \{0,1\}//p' Makefile

# One venv for running and testing. The stamp is rebuilt when either requirements
# file changes; pip itself is not upgraded (the interpreter's bundled pip suffices).
$(STAMP): requirements.txt requirements-spark.txt requirements-dev.txt constraints.txt
	@test -x $(VPY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(VPY) -m pip install --disable-pip-version-check --no-input -r requirements-dev.txt -c constraints.txt
	@touch $@

venv .venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS) \
		--server.headless true

# Debian's Chromium (Playwright's own browser download is not reachable), a CJK font, and a
# Java runtime for the Spark engine's tests (pyspark starts a local JVM).
sysdeps:
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="$$missing chromium"; \
	if ! command -v fc-list >/dev/null || [ -z "$$(fc-list :lang=zh family)" ]; then \
		missing="$$missing fonts-noto-cjk"; fi; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "sysdeps: missing:$$missing"; \
	if [ "$$(id -u)" -eq 0 ]; then \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y $(APT_PACKAGES); \
	else \
		echo "sysdeps: run as root:  apt-get install -y $(APT_PACKAGES)" >&2; \
		echo "sysdeps: (browser tests need $(CHROMIUM); CJK text needs a Chinese font;" >&2; \
		echo "sysdeps:  the Spark engine's tests need java)" >&2; \
		exit 1; \
	fi

test: $(STAMP) sysdeps
	@mkdir -p $(ARTIFACTS)
	$(VPY) -m pytest --junitxml=$(ARTIFACTS)/junit.xml $(PYTEST_ARGS)

bench: $(STAMP)
	$(VPY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .

fonts: $(STAMP)
	$(VPY) tools/make_font_subset.py

clean:
	rm -rf $(ARTIFACTS) .pytest_cache .ruff_cache .hypothesis bench/out
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
