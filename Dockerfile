# Two images from one file:
#   docker build .                  -> the product image (default, last stage): web (gunicorn), Celery worker, beat.
#                                      No simulated AWS in it: the package is installed without the [sandbox] extra.
#   docker build --target sandbox . -> the simulated AWS (moto, patched) for the compose `sandbox` service.
# Dependencies are installed from pyproject.toml before the code is copied, so a code change rebuilds only the
# last layers. Everything goes into a virtualenv at /opt/venv (on PATH), which works the same on the official
# python image and on an interpreter managed by the distribution.
FROM python:3.11-slim AS base

# Another package index (a mirror), if the build machine must use one: --build-arg PIP_INDEX_URL=...
ARG PIP_INDEX_URL=https://pypi.org/simple
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    VAR_DIR=/var/lib/wattson STATIC_ROOT=/srv/static
RUN python -m venv /opt/venv \
 && useradd --system --home /var/lib/wattson wattson \
 && mkdir -p /var/lib/wattson /srv/static \
 && chown wattson /var/lib/wattson
WORKDIR /srv/wattson
COPY pyproject.toml ./
# The runtime dependencies alone (a layer that changes only with pyproject.toml).
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY README.md LICENSE manage.py ./
COPY dashboard ./dashboard
COPY collectors ./collectors
COPY estimator ./estimator
COPY sandbox ./sandbox
COPY templates ./templates
COPY static ./static
COPY docs ./docs
EXPOSE 8000


# --- The simulated AWS (compose `--profile sandbox`); never the product image. ---
FROM base AS sandbox
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['sandbox']))" \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt \
 && pip install --no-deps ".[sandbox]"
ENV DJANGO_ENV=production
USER wattson
EXPOSE 5055
CMD ["python", "-m", "sandbox", "--host", "0.0.0.0", "--port", "5055"]


# --- The product image (default target). ---
FROM base AS app
RUN pip install --no-deps . \
 && SECRET_KEY=build-only-not-secret-$(date +%s)-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ALLOWED_HOSTS=build \
    DJANGO_ENV=production python manage.py collectstatic --no-input \
 && chown -R wattson /var/lib/wattson
ENV DJANGO_ENV=production
USER wattson
# Threaded workers: a streamed CSV export of a year of hours runs for minutes, and a sync worker busy that long would
# be killed by gunicorn's --timeout (the worker's heartbeat goes on in a gthread worker while a thread streams).
CMD ["gunicorn", "dashboard.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-"]
