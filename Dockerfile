# Shelfwatch: one image for every role (web, stream, worker, scheduler, serve).
# Build: docker build -t shelfwatch .   Run: see compose.yaml and docs/deploy.md.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# The project and its dependencies into one virtual environment, copied whole below.
RUN python -m venv /opt/shelfwatch \
 && /opt/shelfwatch/bin/pip install --upgrade pip \
 && /opt/shelfwatch/bin/pip install ".[s3]"

FROM python:3.11-slim-bookworm
ENV PATH=/opt/shelfwatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    STATIC_ROOT=/opt/shelfwatch-static \
    STATIC_HASHED_NAMES=1
# pg_dump/pg_restore for `shelfwatch backup` and `restore` on PostgreSQL.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 shelfwatch \
 && mkdir -p /data /opt/shelfwatch-static \
 && chown shelfwatch /data /opt/shelfwatch-static
COPY --from=build /opt/shelfwatch /opt/shelfwatch
USER shelfwatch
# Static files are collected at build time, under content-hashed names; nginx serves them.
RUN SECRET_KEY=collectstatic-only shelfwatch collectstatic --noinput -v 0
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"
ENTRYPOINT ["shelfwatch"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
