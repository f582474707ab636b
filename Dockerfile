# syntax=docker/dockerfile:1
# One image for the bot, the stream processors and the query API; compose gives each its command:
#   python -m bot | python -m stream_processors run | python -m api
# Build: docker compose build   (or: docker build -t docvault .)

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG POETRY_VERSION=2.5.1

# --- build: the runtime dependencies, exactly as poetry.lock pins them, into /app/.venv ---------------------
FROM ${PYTHON_IMAGE} AS build
ARG POETRY_VERSION
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    POETRY_NO_INTERACTION=1 \
    POETRY_VIRTUALENVS_IN_PROJECT=true
RUN python -m venv /opt/poetry \
    && /opt/poetry/bin/pip install "poetry==${POETRY_VERSION}"
WORKDIR /app
COPY pyproject.toml poetry.lock poetry.toml README.md ./
# The shim lets Poetry read package indexes that serve no per-release JSON (see scripts/install.sh).
COPY tools/poetry_shim.py tools/
# `check --lock` fails the build when poetry.lock does not match pyproject.toml; `install` never re-resolves.
RUN /opt/poetry/bin/python tools/poetry_shim.py check --lock \
    && /opt/poetry/bin/python tools/poetry_shim.py install --only main --no-root --no-interaction \
    && /app/.venv/bin/python -m pip --version >/dev/null

# --- runtime: slim, non-root, no build tools, no secrets ------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    PATH=/app/.venv/bin:$PATH
# The TLS directories exist owned by nginx's uid (101), so that new named volumes mounted there take that
# ownership and the one-shot tls-init can write into them as that user (docker-compose.yml).
RUN groupadd --system --gid 10001 docvault \
    && useradd --system --uid 10001 --gid docvault --home-dir /app --no-create-home --shell /usr/sbin/nologin docvault \
    && install -d -o root -g root -m 0700 /var/lib/docvault/secrets \
    && install -d -o 101 -g 101 -m 0755 /var/lib/docvault/tls /var/lib/docvault/tls-public
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY contracts ./contracts
COPY service_kit ./service_kit
COPY stream_processors ./stream_processors
COPY api ./api
COPY bot ./bot
COPY infra/docker/generate_secrets.py infra/docker/healthcheck.py infra/docker/tls_init.py infra/docker/mongo_users.py \
     infra/s3/create_bucket.py ./ops/
RUN python -m compileall -q contracts service_kit stream_processors api bot ops \
    && python -c "import contracts, service_kit, stream_processors, api, bot"
USER 10001:10001
EXPOSE 8000 8080 8081
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["python", "/app/ops/healthcheck.py", "/readyz"]
CMD ["python", "-m", "api"]
