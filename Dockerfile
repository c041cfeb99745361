# The playground's production image: gunicorn serves the web app as a non-root user.
# The same image runs the worker cluster: `docker run IMAGE python manage.py qcluster`.
#   docker build -t gpt-image-playground .
#   docker run -e DJANGO_SECRET_KEY=… -e DATABASE_URL=postgres://… -e REDIS_URL=redis://… \
#              -e DJANGO_ALLOWED_HOSTS=playground.example.com -p 8000:8000 gpt-image-playground
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir uv==0.13.8 \
 && groupadd --system app && useradd --system --gid app --home /app --shell /usr/sbin/nologin app

WORKDIR /app
# Dependencies first, from the lock file only, so code changes do not rebuild them.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

COPY --chown=app:app . .
# collectstatic needs settings but no secret or database; the manifest it writes turns on
# whitenoise's hashed, compressed static files.
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput \
 && mkdir -p /app/var && chown -R app:app /app/var /app/staticfiles

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# Migrations run at start so a new image never serves an old schema.
# gunicorn, from the measurements (README, "Production"): an upload request holds at
# most ~100 MB more and stops working on files after 15 s, so 60 s of timeout leaves
# room for slow clients while a stuck worker is still replaced; 3 sync workers stay
# under ~0.5 GB in the worst case; SIGTERM waits 30 s for requests in flight; workers
# are renewed every ~1,000 requests so no memory creeps.
CMD ["sh", "-c", ": \"${DJANGO_SECRET_KEY:?DJANGO_SECRET_KEY must be set}\" && python manage.py migrate --noinput && exec gunicorn playground.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --timeout ${GUNICORN_TIMEOUT:-60} --graceful-timeout 30 --max-requests 1000 --max-requests-jitter 100 --access-logfile - --forwarded-allow-ips='*'"]
