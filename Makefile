.PHONY: install test test-fast lint typecheck format up down bench bench-load bench-open bench-lag

install:        ## Poetry + the project from poetry.lock
	scripts/install.sh

test:           ## the whole check: flake8, mypy --strict, import rules, pytest against real services
	scripts/test-all.sh

# The pure tests: no server needed (contracts, projections, service_kit helpers, pure API and bot rules).
FAST_TESTS = tests/contracts tests/stream_processors tests/service_kit tests/api/test_rules.py \
	tests/api/test_cursors.py tests/api/test_ranges.py tests/api/test_file_headers.py tests/api/test_links.py \
	tests/api/test_quota.py tests/bot/ui/test_i18n.py tests/bot/test_units.py tests/bot/test_settings.py \
	tests/bot/test_add_document_steps.py tests/bot/services/test_saving.py tests/bot/services/test_limits.py

test-fast:      ## the pure tests only, no services, under a minute
	scripts/install.sh && .venv/bin/pytest $(FAST_TESTS) -m "not integration" -q

lint:           ## flake8 and the import rules
	scripts/install.sh && .venv/bin/flake8 && .venv/bin/lint-imports

format:         ## ruff: sort imports and format (what the pre-commit hooks do)
	scripts/install.sh && .venv/bin/ruff check --fix . && .venv/bin/ruff format .

typecheck:      ## mypy --strict over every package, the tests and the benchmarks
	scripts/install.sh && .venv/bin/mypy

up:             ## run the whole system (needs Docker and BOT_TOKEN in .env); rebuilds the image after a git pull
	docker compose up -d --build

down:
	docker compose down

# Each benchmark: install, start the local test services, run, stop them (docs/reliability.md, README).
run_bench = scripts/install.sh && . scripts/test-env.sh && scripts/test-services.sh start && \
	  .venv/bin/python -m $(1); status=$$?; scripts/test-services.sh stop; exit $$status

bench:          ## streaming core benchmark (prints a table)
	$(call run_bench,bench.streaming)

bench-load:     ## 200 people add -> list -> get through the whole system in webhook mode for 60 s
	$(call run_bench,bench.load)

bench-open:     ## people arrive at 1, 3, 5 flows/s (open loop) over 1,000 people, 3 runs (docs/performance.md)
	$(call run_bench,bench.open_loop)

bench-lag:      ## sustained append rates against a processor, with its lag sampled
	$(call run_bench,bench.lag)
