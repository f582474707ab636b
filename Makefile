.PHONY: install test lint up down bench bench-load bench-lag

install:        ## Poetry + the project from poetry.lock
	scripts/install.sh

test:           ## the whole check: flake8, mypy --strict, import rules, pytest against real services
	scripts/test-all.sh

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

bench-lag:      ## sustained append rates against a processor, with its lag sampled
	$(call run_bench,bench.lag)
