"""The RQ worker: built once with the app, it runs each job in an app context.

It is a SimpleWorker (no fork per job): on this kind of machine that ran about
five times more jobs per second than RQ's forking worker. Jobs are idempotent
and have time limits, so a job that dies with its worker is simply run again.

RQ's worker waits out Redis being away only while it waits for a job; met anywhere
else (between two jobs, finishing one), a Redis error stops it. `serve` then starts
a new one once Redis answers, so `flask worker` outlives a Redis restart.
"""
import logging
import signal
import time

from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker

log = logging.getLogger(__name__)

# The longest wait before a new worker when Redis does not answer.
MAX_RETRY_SECONDS = 10


class AppWorker(SimpleWorker):
    """A SimpleWorker that gives every job a fresh application context."""

    flask_app: Flask | None = None
    stopping = False  # asked to stop (SIGTERM, SIGINT), not stopped by an error

    def perform_job(self, job, queue):
        with self.flask_app.app_context():
            return super().perform_job(job, queue)

    def request_stop(self, signum, frame):
        self.stopping = True
        super().request_stop(signum, frame)

    def teardown(self):
        try:
            super().teardown()
        finally:
            # With Redis away the sign-off fails before RQ stops the thread listening for
            # commands; stopped here, a restart does not leave one behind.
            thread = getattr(self, "pubsub_thread", None)
            if thread is not None and thread.is_alive():
                thread.stop()
                thread.join(timeout=1)


def make_worker(app: Flask, queue_names, connection, name=None) -> AppWorker:
    worker_class = type("FeedbackWorker", (AppWorker,), {"flask_app": app})
    return worker_class(list(queue_names), connection=connection, name=name)


def serve(app: Flask, queue_names, connection: Redis, *, burst: bool = False) -> None:
    """Work the queues until asked to stop (or, with `burst`, until they are empty),
    with a new worker (a new name: the last one could not sign off) after each stop
    that nobody asked for."""
    retry = 1.0
    while True:
        worker = None
        started = time.monotonic()
        error = None
        try:
            worker = make_worker(app, queue_names, connection)  # which names itself in Redis
            worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
        except RedisError as exc:  # its start or its sign-off met Redis away too
            error = exc
        if burst and error is not None:
            raise error
        if burst or (worker is not None and worker.stopping):
            return
        if time.monotonic() - started > 60:
            retry = 1.0
        log.warning("worker %s stopped (%s); a new worker in %.0f s",
                    worker.name if worker else "-", error or "its error is logged above", retry)
        _sleep_unless_stopped(retry)
        retry = min(retry * 2, MAX_RETRY_SECONDS)


def _sleep_unless_stopped(seconds: float) -> None:
    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    time.sleep(seconds)
