# The playground's production image: gunicorn serves the web app as a non-root user.
# The same image runs the worker cluster: `docker run IMAGE python manage.py qcluster`.
#   docker build -t gpt-image-playground .
#   docker run -e DJANGO_SECRET_KEY=… -e DATABASE_URL=postgres://… -e REDIS_URL=redis://… \
#              -e DJANGO_ALLOWED_HOSTS=playground.example.com -p 8000:8000 gpt-image-playground
# `.venv/bin/python bench/image_smoke.py` builds it, starts it and checks what a deploy
# relies on (hashed, compressed static files; a clean start and a graceful stop).
FROM python:3.11-slim-bookworm

# UV_COMPILE_BYTECODE (and compileall below, for our code): bytecode is written once here
# rather than compiled in memory by every gunicorn worker as it starts, which loads the
# app in ~1.4 s instead of ~2.3 s, for 25 MB more (PYTHONDONTWRITEBYTECODE keeps the
# running processes from writing any). DJANGO_STATIC_MANIFEST: hashed, compressed static
# files, for collectstatic below and for the server alike (settings.py).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    DJANGO_STATIC_MANIFEST=1 \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir uv==0.13.8 \
 && groupadd --system app && useradd --system --gid app --home /app --shell /usr/sbin/nologin app

WORKDIR /app
# Dependencies first, from the lock file only, so code changes do not rebuild them.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

# The code belongs to root, so the app user can read it but not change it; it writes only
# to /app/var (uploads and results when no S3 bucket is set).
COPY . .
# collectstatic needs settings but no secret or database. It writes the manifest and,
# beside each file, its hashed copy and their .gz and .br.
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput \
 && python -m compileall -q playground \
 && mkdir -p /app/var && chown app:app /app/var

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# Migrations run at start so a new image never serves an old schema.
# gunicorn, from the measurements (README, "Production"): an upload request holds at
# most ~100 MB more and stops working on files after 15 s, so 60 s of timeout leaves
# room for slow clients while a stuck worker is still replaced; 3 sync workers stay
# under ~0.5 GB in the worst case; SIGTERM waits 30 s for requests in flight; workers
# are renewed every ~1,000 requests so no memory creeps. No control socket: nothing here
# uses gunicornc (a container is resized by replacing it), and gunicorn would otherwise
# try to create $HOME/.gunicorn/ in /app, which the app user cannot write.
CMD ["sh", "-c", ": \"${DJANGO_SECRET_KEY:?DJANGO_SECRET_KEY must be set}\" && python manage.py migrate --noinput && exec gunicorn playground.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --timeout ${GUNICORN_TIMEOUT:-60} --graceful-timeout 30 --max-requests 1000 --max-requests-jitter 100 --no-control-socket --access-logfile - --forwarded-allow-ips='*'"]
