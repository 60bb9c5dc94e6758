# The table of contents of routine work. `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV_STAMP := .venv/.installed

help: ## list every target
	@grep -E "^[a-z-]+:.*## " $(MAKEFILE_LIST) | awk -F ":.*## " '{printf "  make %-12s %s\n", $$1, $$2}'

install: ## create .venv with Python 3.10 and install the pinned requirements
	@scripts/bootstrap.sh

run: ## start backend, action server and Rasa (migrate, seed, train as needed); Ctrl-C stops all
	@scripts/run.sh

run-prod: ## production mode on this machine: PostgreSQL, Redis, 2 Rasa servers behind nginx, RabbitMQ (deploy/README.md)
	@scripts/run_prod.sh

test: ## every test: lint, data validation, train, conversation tests, pytest
	@scripts/test.sh

lint: install ## ruff
	@.venv/bin/ruff check .

validate: install ## rasa data validate --fail-on-warnings
	@source scripts/env.sh && .venv/bin/rasa data validate --domain domain --data data --config config.yml --fail-on-warnings

train: install ## train the model (skipped by Rasa when nothing changed)
	@scripts/train.sh

pytest: install ## backend and action tests only
	@source scripts/env.sh && .venv/bin/python -m pytest -q

shell: install ## chat in the terminal (rasa shell) against the same backend and action server
	@scripts/shell.sh

migrate: install ## apply database migrations
	@source scripts/env.sh && .venv/bin/python -m logistics migrate

seed: install ## generate demo data when the database is empty
	@source scripts/env.sh && .venv/bin/python -m logistics init

migration: install ## autogenerate a migration from the models: make migration m="what changed"
	@source scripts/env.sh && .venv/bin/python -m logistics revision -m "$(m)"

eval-nlu: install ## NLU evaluation into reports/nlu (JDDC accuracy, entities, 5-fold CV ~6 min); ARGS=--skip-cv
	@source scripts/env.sh && .venv/bin/python scripts/eval_nlu.py $(ARGS)

bench: install ## per-turn latency of tracking turns over REST (needs make run in another terminal)
	@source scripts/env.sh && .venv/bin/python scripts/bench_tracking.py

bench-widget: install ## website chat: Enter to first bot bubble in headless chromium, 20 tracking questions
	@source scripts/env.sh && .venv/bin/python scripts/bench_widget.py $(ARGS)

bench-wechat: install ## WeChat passive-reply latency p50/p95 (make run's Rasa, or a stack of its own)
	@source scripts/env.sh && .venv/bin/python scripts/bench_wechat.py $(ARGS)

bench-load: install ## load: ours vs a plain `rasa init` bot at 1/20/100/200 users (~15 min); ARGS=--readme
	@source scripts/env.sh && .venv/bin/python scripts/bench_load.py $(ARGS)

bench-analytics: install ## analytics report time on 1M events in PostgreSQL (BENCH_DATABASE_URL), EXPLAIN under reports/analytics
	@source scripts/env.sh && .venv/bin/python scripts/bench_analytics.py $(ARGS)

eval-analytics: install ## detection precision/recall on 25 generated histories with injected anomalies (~2 min)
	@source scripts/env.sh && .venv/bin/python scripts/eval_analytics.py $(ARGS)

browser-test: install ## browser tests of the website chat widget (real stack, headless chromium)
	@source scripts/env.sh && .venv/bin/python -m pytest -q tests/browser

clean: ## remove generated output (models, reports, the demo databases)
	rm -rf models reports var results

.PHONY: help install run run-prod test lint validate train pytest shell migrate seed migration eval-nlu bench bench-widget \
	bench-wechat bench-load bench-analytics eval-analytics browser-test clean
