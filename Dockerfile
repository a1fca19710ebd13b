# The product image: web (gunicorn), Celery worker and beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_ENV=production VAR_DIR=/var/lib/wattson STATIC_ROOT=/srv/wattson/static
WORKDIR /srv/wattson

COPY pyproject.toml README.md LICENSE ./
COPY dashboard ./dashboard
COPY collectors ./collectors
COPY estimator ./estimator
COPY sandbox ./sandbox
COPY templates ./templates
COPY static ./static
COPY docs ./docs
COPY manage.py ./
# The sandbox extra is installed so the optional compose `sandbox` service can use the same image.
RUN pip install ".[sandbox]" \
 && useradd --system --home /var/lib/wattson wattson \
 && mkdir -p /var/lib/wattson \
 && SECRET_KEY=build-only-not-secret-$(date +%s)-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ALLOWED_HOSTS=build \
    python manage.py collectstatic --no-input \
 && chown -R wattson /var/lib/wattson
USER wattson
EXPOSE 8000
# Threaded workers: a streamed CSV export of a year of hours runs for minutes, and a sync worker busy that long would
# be killed by gunicorn's --timeout (the worker's heartbeat goes on in a gthread worker while a thread streams).
CMD ["gunicorn", "dashboard.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-"]
