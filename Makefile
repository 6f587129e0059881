# Gridboard (网格治理看板) — build, run and test. `make help` prints the values in effect.
#   make run      start the dashboard (serve.py: app.py plus the login-session routes)
#   make test     install system deps if needed, then the whole pytest suite (browser tests too)
#   make lint     ruff
#   make bench    benchmarks (bench/)
#   make fonts    rebuild static/fonts/*.woff2 from Debian's Noto Sans CJK
#   make clean    remove caches and test artifacts (make distclean: the venv too)
# Variables: PORT, ADDRESS, DATA_DIR, REQUIRE_LOGIN=1, PYTHON (e.g. make run PORT=8600);
#   ORDERS, BENCH_ARGS for make bench (make bench ORDERS=50000000 BENCH_ARGS="--keep /tmp/b50m").

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
# 0.0.0.0: every network interface, so other machines on the intranet can open the dashboard;
# ADDRESS=127.0.0.1 keeps it to this machine.
ADDRESS ?= 0.0.0.0
# Empty: $GRIDBOARD_DATA_DIR if set, else data/store (the only dir that fills itself with the
# demo city). Passed to the app as GRIDBOARD_DATA_DIR only when given.
DATA_DIR ?=
# 1: every visitor must log in (GRIDBOARD_REQUIRE_LOGIN), whatever the admin setting says.
REQUIRE_LOGIN ?=
SHOWN_DATA_DIR := $(or $(DATA_DIR),$(GRIDBOARD_DATA_DIR),data/store)
PYTEST_ARGS ?=
ARTIFACTS := test-artifacts
CHROMIUM := /usr/bin/chromium
APT_PACKAGES := chromium fonts-noto-cjk openjdk-17-jre-headless

.PHONY: help venv .venv run sysdeps test bench lint fonts clean distclean

help:
	@sed -n '2,9s/^# \{0,1\}//p' Makefile
	@echo
	@echo "Values in effect (override on the command line, e.g. make run PORT=8600):"
	@echo "  ADDRESS        $(ADDRESS)$(if $(filter 0.0.0.0,$(ADDRESS)),  = every network interface: http://127.0.0.1:$(PORT) here; http://<server IP>:$(PORT) from other machines,  = only http://$(ADDRESS):$(PORT))"
	@echo "  PORT           $(PORT)"
	@echo "  DATA_DIR       $(SHOWN_DATA_DIR)$(if $(DATA_DIR)$(GRIDBOARD_DATA_DIR),,  (default; fills itself with the demo city on first start))"
	@echo "  REQUIRE_LOGIN  $(if $(REQUIRE_LOGIN),$(REQUIRE_LOGIN)  = every visitor must log in,off  = the admin setting 浏览者须登录 decides)"
	@echo "  python         $(VPY)$(if $(wildcard $(VPY)), ($(shell $(VPY) -V 2>&1)), (not built yet))  — built from $(or $(PYTHON),no python3 found)"

# One venv for running and testing. The stamp is rebuilt when either requirements
# file changes; pip itself is not upgraded (the interpreter's bundled pip suffices).
$(STAMP): requirements.txt requirements-spark.txt requirements-dev.txt constraints.txt
	@test -x $(VPY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(VPY) -m pip install --disable-pip-version-check --no-input -r requirements-dev.txt -c constraints.txt
	@touch $@

venv .venv: $(STAMP)

run: $(STAMP)
	$(if $(DATA_DIR),GRIDBOARD_DATA_DIR=$(DATA_DIR)) \
	$(if $(REQUIRE_LOGIN),GRIDBOARD_REQUIRE_LOGIN=$(REQUIRE_LOGIN)) \
	$(VENV)/bin/streamlit run serve.py --server.port $(PORT) --server.address $(ADDRESS) \
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
	$(VPY) -m bench $(if $(ORDERS),--orders $(ORDERS)) $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

fonts: $(STAMP)
	$(VPY) tools/make_font_subset.py

clean:
	rm -rf $(ARTIFACTS) .pytest_cache .ruff_cache .hypothesis bench/out
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
