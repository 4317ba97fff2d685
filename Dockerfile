# The app's image, built from this checkout:  docker build -t origami-slack .
#
# One image for every kind of process; the command picks the role:
#   docker run ... origami-slack                          python -m bot: both halves, one process
#   docker run ... origami-slack python -m bot web        the web half (Slack, /healthz, /readyz)
#   docker run ... origami-slack python -m bot worker     the worker half
# Settings come from the environment at run time (see .env.example); none are baked in.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: the app and its dependencies in a virtualenv, nothing else --------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src

# The runtime dependencies first, read from pyproject.toml (no test, bench or cli extras):
# this layer is rebuilt only when they change, not on every change to the code.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt

# Then the package itself, as a regular (not editable) install.
COPY README.md ./
COPY bot ./bot
RUN /opt/venv/bin/pip install --no-deps . \
    && /opt/venv/bin/python -c "import bot.__main__"

# --- runtime -------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=3000

# A user of its own, by number, so that platforms that require a non-root user
# (Kubernetes' runAsNonRoot) can tell.
RUN groupadd --system --gid 10001 origami \
    && useradd --system --uid 10001 --gid origami --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin origami
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001

EXPOSE 3000

# Liveness: GET /healthz on PORT answers as long as the process does (it never calls Redis).
# Readiness is GET /readyz, for the platform's own probes. curl is not in slim images.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]

# SIGTERM (docker stop, a platform's stop) is the app's graceful stop; it handles it as PID 1.
CMD ["python", "-m", "bot"]
