"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Sized for CPU-bound work (photo uploads are parsed in the request): sync workers,
two per core plus one, recycled now and then so a slow leak never grows. Each
value can be overridden with gunicorn's own GUNICORN_CMD_ARGS or the variables below.
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A 5-photo upload over a slow 3G line is read by the proxy in front (nginx buffers
# request bodies); gunicorn's own timeout only has to cover the work.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
max_requests = 2000
# Spread wide: workers share the load evenly, so with a narrow spread they reach their
# limit together and boot together. Measured in the load test (± 200): four of five
# workers restarted within five seconds and every request waited up to 4.4 s.
max_requests_jitter = 1000
# The request line (method, path and query) may be as long as gunicorn allows, 8 KB:
# the public list's filters repeat in the query. The body's limit is the app's.
limit_request_line = 8190
accesslog = "-"
errorlog = "-"
# The app is built once, in the master, and each worker starts as a fork of it: a worker
# that imports and builds the app itself costs about 1.5 s of CPU, which under load
# (five workers at start, and each recycled worker later) the others wait for. Measured
# in the load test: the first 30 s of a run had a submit p50 of 0.8-1 s.
preload_app = True


def when_ready(server):
    # What SQLAlchemy builds on first use (the mappers' configuration) is built once here,
    # before the fork, rather than once in every worker.
    from sqlalchemy.orm import configure_mappers

    configure_mappers()


def post_fork(server, worker):
    # A connection opened in the master must not be shared by the workers: each worker
    # opens its own (SQLAlchemy's advice for forking servers). Redis clients do so
    # by themselves when they see a new process id.
    from feedback.extensions import db

    app = server.app.wsgi()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)

# Request metrics summed over all workers (see feedback/metrics.py).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    from prometheus_client import multiprocess

    def child_exit(server, worker):
        multiprocess.mark_process_dead(worker.pid)
