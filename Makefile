# Hounsfield — every set-up step a fresh machine needs is behind `make run` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HOUNSFIELD_DATA_DIR ?= var

MARIADB_TEST_URL ?= mysql+pymysql://root@127.0.0.1:3306/hounsfield_test?charset=utf8mb4
POSTGRES_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/hounsfield_test
PYTEST ?= $(BIN)/pytest -q -p no:cacheprovider

.PHONY: install install-dev run test lint typecheck test-sqlite test-mariadb test-postgres \
        system-deps clean docs
.PHONY: web test-web

# Web workstation (web/): `npm ci` when package-lock.json changes, `next build` (static export
# to web/out) only when a source file is newer than the last export.
WEB := web
WEB_SOURCES := $(shell find $(WEB)/app $(WEB)/components $(WEB)/lib $(WEB)/i18n $(WEB)/public \
                 -type f ! -name '*.test.ts' 2>/dev/null) \
               $(wildcard $(WEB)/*.mjs $(WEB)/tsconfig.json $(WEB)/package-lock.json)
export NEXT_TELEMETRY_DISABLED := 1

install: $(VENV)/.installed models

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

install-dev: $(VENV)/.installed-dev models

# Brain extraction (deepbet 1.0.2): its TorchScript nets exported to ONNX once, at install
# time, in a venv of their own (torch never enters the app's venv; pip takes the CPU wheel
# of torch 2.13.0 from this disk). deepbet with --no-deps: the export needs only torch and
# onnx. Skipped when the files are there; the app checks them against pinned SHA-256s.
EXPORT_VENV := .venv-export
MODELS_DIR := var/models

.PHONY: models
models: $(MODELS_DIR)/deepbet/SHA256SUMS

$(EXPORT_VENV)/.installed:
	test -x $(EXPORT_VENV)/bin/python || $(PYTHON) -m venv $(EXPORT_VENV)
	$(EXPORT_VENV)/bin/pip install -q torch==2.13.0 onnx==1.23.2 numpy==2.4.6
	$(EXPORT_VENV)/bin/pip install -q --no-deps deepbet==1.0.2
	touch $@

$(MODELS_DIR)/deepbet/SHA256SUMS: tools/export_deepbet.py | $(EXPORT_VENV)/.installed
	$(EXPORT_VENV)/bin/python -W ignore tools/export_deepbet.py $(MODELS_DIR)/deepbet

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

web: $(WEB)/out/index.html

$(WEB)/node_modules/.installed: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

$(WEB)/out/index.html: $(WEB)/node_modules/.installed $(WEB_SOURCES)
	cd $(WEB) && npx next build
	touch $@

# Lint, type check, unit tests, then the browser tests (Debian's chromium, no download).
test-web: web install-dev system-deps
	cd $(WEB) && npm run lint && npx tsc --noEmit && npx vitest run && node e2e/run.mjs

run: install web
	$(BIN)/hounsfield migrate
	$(BIN)/hounsfield demo
	$(BIN)/hounsfield demo-studies
	$(BIN)/hounsfield serve

# Debian packages the tests drive: dcmtk (real DICOM clients), dicom3tools (dciodvfy checks
# every DICOM object we create), chromium (browser tests),
# CJK fonts (Chinese names in rendered pages and PDFs), Orthanc as a peer PACS (DIMSE
# round trip in a network namespace: iproute2), nginx (the TLS front of deploy/, scanned by
# sslyze in tests/security/test_tls_nginx.py), insighttoolkit5-examples (healthy brain MR
# slices for the AI tumour-classifier test), mricron-data (the Colin27 T1 head and its
# skull-stripped reference for the brain-extraction test), prometheus + prometheus-alertmanager (promtool
# and amtool check deploy/prometheus/ in tests/test_deploy.py), libpango (WeasyPrint renders
# report PDFs).
system-deps:
	@missing=""; for p in dcmtk dicom3tools chromium fonts-noto-cjk orthanc iproute2 nginx insighttoolkit5-examples mricron-data prometheus prometheus-alertmanager libpango-1.0-0 libpangoft2-1.0-0; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

# semgrep runs from a venv of its own (its dependencies clash with the project's), with the
# local rules in .semgrep/ only: no registry rules, no network at scan time.
SEMGREP_VENV := .venv-semgrep

$(SEMGREP_VENV)/bin/semgrep:
	$(PYTHON) -m venv $(SEMGREP_VENV)
	$(SEMGREP_VENV)/bin/pip install -q "semgrep>=1.100"

# sslyze (SECURITY T1 scan of deploy/nginx) also needs a venv of its own: it pins an older
# cryptography than the project's.
SSLYZE_VENV := .venv-sslyze

.PHONY: sslyze
sslyze: $(SSLYZE_VENV)/bin/sslyze

$(SSLYZE_VENV)/bin/sslyze:
	$(PYTHON) -m venv $(SSLYZE_VENV)
	$(SSLYZE_VENV)/bin/pip install -q "sslyze>=6.0,<7"

lint: install-dev $(SEMGREP_VENV)/bin/semgrep
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r src
	$(SEMGREP_VENV)/bin/semgrep scan --metrics=off --disable-version-check --error -q \
	  --config .semgrep/rules.yml src

typecheck: install-dev
	$(BIN)/mypy

test-sqlite: install-dev $(SSLYZE_VENV)/bin/sslyze
	$(PYTEST) -m "not server_db"

# The database-independent tests (marked nodb or once) already ran in test-sqlite.
test-mariadb: install-dev
	HOUNSFIELD_TEST_DATABASE_URL='$(MARIADB_TEST_URL)' $(PYTEST) -m "not nodb and not once"

test-postgres: install-dev
	HOUNSFIELD_TEST_DATABASE_URL='$(POSTGRES_TEST_URL)' $(PYTEST) -m "not nodb and not once"

# Both server-database passes at once: their databases are on two servers and their Redis
# databases apart (HOUNSFIELD_TEST_REDIS_OFFSET, tests/conftest.py redis_url), so they share
# nothing; much of each pass waits on its database and on processes it starts. Each line is
# marked with its pass; the target fails if either pass fails.
.PHONY: test-server-dbs
test-server-dbs: install-dev
	@set -o pipefail; \
	( HOUNSFIELD_TEST_REDIS_OFFSET=5 HOUNSFIELD_TEST_DATABASE_URL='$(MARIADB_TEST_URL)' \
	    $(PYTEST) -m "not nodb and not once" 2>&1 | sed -u 's/^/[mariadb] /' ) & mariadb=$$!; \
	( HOUNSFIELD_TEST_REDIS_OFFSET=10 HOUNSFIELD_TEST_DATABASE_URL='$(POSTGRES_TEST_URL)' \
	    $(PYTEST) -m "not nodb and not once" 2>&1 | sed -u 's/^/[postgres] /' ) & postgres=$$!; \
	wait $$mariadb; m=$$?; wait $$postgres; p=$$?; \
	echo "MariaDB pass: exit $$m; PostgreSQL pass: exit $$p"; test $$m -eq 0 -a $$p -eq 0

# The two server-database passes run at once (test-server-dbs); `make test
# SERVER_DB_PASSES="test-mariadb test-postgres"` runs them one after the other.
SERVER_DB_PASSES ?= test-server-dbs
test: system-deps install-dev lint typecheck test-sqlite $(SERVER_DB_PASSES) test-web

# DICOMweb side by side with Orthanc (root: a loopback-only network namespace; a few minutes).
# Not part of `make test`. Needs Debian's orthanc, orthanc-dicomweb and wrk.
.PHONY: bench-ai
bench-ai: install-dev
	$(BIN)/python bench/ai_bench.py

.PHONY: bench-dicomweb
bench-dicomweb: install-dev
	$(BIN)/python bench/dicomweb_bench.py

# The realistic archive (2,016 CT/MR instances, 120 series) side by side with Orthanc: every
# ingest route, QIDO and WADO at 1/8/32 clients, server CPU per instance (docs/benchmarks.md).
# `make profile` runs it on Hounsfield alone under py-spy: collapsed stacks in var/profile/.
.PHONY: bench-archive profile
bench-archive: install-dev
	$(BIN)/python bench/archive_bench.py $(BENCH_ARGS)

profile: install-dev
	$(BIN)/python bench/archive_bench.py --only hounsfield --runs 1 --profile var/profile $(BENCH_ARGS)

# Patient search on 1,000,000 synthetic patients, SQLite then MariaDB: p50/p95 per kind of
# query (docs/patients.md). Loading takes minutes; BENCH_ARGS="--n 200000" for a quicker run.
.PHONY: bench-patients
bench-patients: install-dev
	$(BIN)/python bench/patient_search.py --db sqlite --db mariadb $(BENCH_ARGS)

.PHONY: bench-worklist
bench-worklist: install-dev
	PYTHONPATH=src:. $(BIN)/python bench/worklist_bench.py $(BENCH_ARGS)

# SECURITY L1: SQL statements per STOW/QIDO/WADO call against bench/statement_baseline.json
# (deterministic counts, no timing; also part of test-sqlite). After a deliberate change,
# `make bench-baseline` rewrites the baseline: commit it with the change that explains it.
.PHONY: bench-check bench-baseline
bench-check: install-dev
	$(PYTEST) tests/test_statement_budget.py

bench-baseline: install-dev
	HOUNSFIELD_UPDATE_BASELINE=1 $(PYTEST) tests/test_statement_budget.py
	git diff --stat bench/statement_baseline.json

# SECURITY I1 in depth: the atheris target on the ingest for FUZZ_SECONDS (default an hour),
# corpus and findings kept in var/fuzz/ between runs. Copy a crash-* into tests/fuzz/regressions/.
FUZZ_SECONDS ?= 3600
.PHONY: fuzz
fuzz: install-dev
	mkdir -p var/fuzz/corpus var/fuzz/data
	test -n "$$(ls var/fuzz/corpus)" || cp tests/fuzz/corpus/* var/fuzz/corpus/
	HOUNSFIELD_DATA_DIR=var/fuzz/data HOUNSFIELD_DATABASE_URL= $(BIN)/python -m tests.fuzz.ingest_target \
	  -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=20 \
	  -artifact_prefix=var/fuzz/ var/fuzz/corpus

# SECURITY I9 in depth: sqlmap with every technique (time-based and stacked queries too),
# every parameter and level-3 header, any DBMS, against QIDO-RS and the user and audit
# searches of a live server (several minutes; `make test` runs a quick subset).
.PHONY: security-scan
security-scan: install-dev
	HOUNSFIELD_SQLMAP_FULL=1 $(PYTEST) tests/security/test_sqlmap.py

clean:
	rm -rf $(VENV) $(EXPORT_VENV) var .mypy_cache .ruff_cache

docs: install
	$(BIN)/python -m hounsfield.settings_doc > docs/configuration.md
