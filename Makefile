.PHONY: install test lint up down bench

install:        ## Poetry + the project from poetry.lock
	scripts/install.sh

test:           ## the whole check: flake8, mypy --strict, import rules, pytest against real services
	scripts/test-all.sh

up:             ## run the whole system (needs Docker and BOT_TOKEN in .env)
	docker compose up -d

down:
	docker compose down

bench:          ## streaming core benchmark (prints a table)
	scripts/install.sh && . scripts/test-env.sh && scripts/test-services.sh start && \
	  .venv/bin/python -m bench.streaming; scripts/test-services.sh stop
