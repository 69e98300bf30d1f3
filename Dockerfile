# The service image. The builder installs the project the way `make install` does (`pip install .`,
# without the test extras) into a venv, compiling the engine's Rust parts (services/engine/native,
# Rust) with the toolchain of the rust stage; the console stage builds the web console (web/, npm
# packages pinned by its lockfile); the runtime stage gets only the venv, with the console's files
# in the package's place for them, and runs unprivileged.
# Roles: `docker run IMAGE serve --role engine|api|all`; settings are the MR_* environment variables.

FROM rust:1.95-slim-bookworm AS rust


FROM python:3.11-slim-bookworm AS builder

COPY --from=rust /usr/local/cargo /usr/local/cargo
COPY --from=rust /usr/local/rustup /usr/local/rustup
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    CARGO_HOME=/usr/local/cargo \
    RUSTUP_HOME=/usr/local/rustup \
    PATH=/usr/local/cargo/bin:$PATH
# cargo links the extension with the C toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential=12.9 \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY services ./services
# then drop what only installing needs (pip, setuptools) and the test suites numpy and pandas ship
RUN /opt/venv/bin/pip install --no-cache-dir . \
 && /opt/venv/bin/pip uninstall --yes pip setuptools \
 && find /opt/venv/lib/python3.11/site-packages/numpy /opt/venv/lib/python3.11/site-packages/pandas \
      -depth -type d -name tests -prune -exec rm -rf {} +


FROM node:20.19-bookworm-slim AS console

WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/tsconfig.json web/build.mjs web/index.html ./
COPY web/src ./src
RUN npm run check && node build.mjs /console


FROM python:3.11-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MR_HTTP_HOST=0.0.0.0 \
    MR_HTTP_PORT=8000

# a system user without a login shell; its home is the working directory, where the default
# store (SQLite, MR_DATABASE_URL unset) writes data/market-reaction.db: mount a volume there to keep it
RUN groupadd --system --gid 10001 market-reaction \
 && useradd --system --uid 10001 --gid 10001 --no-log-init --create-home \
      --home-dir /var/lib/market-reaction --shell /usr/sbin/nologin market-reaction \
 && install -d -o 10001 -g 10001 /var/lib/market-reaction/data

COPY --from=builder /opt/venv /opt/venv
COPY --from=console /console /opt/venv/lib/python3.11/site-packages/services/console/static

USER 10001:10001
WORKDIR /var/lib/market-reaction
EXPOSE 8000

# liveness only (/healthz); there is no curl in the slim image, so python's urllib does the request
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MR_HTTP_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["market-reaction"]
CMD ["serve", "--host", "0.0.0.0"]
