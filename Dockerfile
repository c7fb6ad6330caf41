# One image for web, worker and beat: `docker run IMAGE web|worker|beat|migrate`.
# Settings come from the environment (see README "Production"); PostgreSQL and Redis are real servers.

FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --silent

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN python -m venv /opt/venv
COPY pyproject.toml ./
COPY portal/__init__.py portal/__init__.py
COPY tenants/__init__.py tenants/__init__.py
RUN /opt/venv/bin/pip install --upgrade pip && /opt/venv/bin/pip install .
COPY . .
COPY --from=assets /build/node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
RUN /opt/venv/bin/pip install --no-deps . \
 && SECRET_KEY=collectstatic-only DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    DJANGO_SETTINGS_MODULE=portal.settings.production /opt/venv/bin/python manage.py collectstatic --noinput -v 0

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=portal.settings.production MEDIA_ROOT=/var/lib/continuum/media \
    FHIR_EXPORT_ROOT=/var/lib/continuum/fhir-exports
RUN groupadd --system continuum && useradd --system --gid continuum --home /app continuum \
 && mkdir -p /var/lib/continuum/media /var/lib/continuum/fhir-exports && chown -R continuum:continuum /var/lib/continuum
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=continuum:continuum /app /app
USER continuum
EXPOSE 8000
# /healthz answers at any address (before routing), 200 while the process is alive.
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request;urllib.request.urlopen('http://127.0.0.1:8000/healthz',timeout=4)" || exit 1
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
