"""Prometheus metrics at GET /metrics: requests and their latency, queue depth,
failed jobs, work not yet handed to RQ, and overdue reports per department.

Request metrics are counted per process; under gunicorn set PROMETHEUS_MULTIPROC_DIR
to an empty folder so every worker's counts are summed. The business gauges are
read from PostgreSQL and Redis when Prometheus scrapes, never kept in memory.
"""
import hmac
import os
import time

from flask import Flask, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.models import Department, OutboxMessage, Report
from feedback.redis import redis_connection
from workers import queues

REQUESTS = Counter("phananh_http_requests_total", "HTTP requests answered",
                   ["method", "endpoint", "status"])
LATENCY = Histogram("phananh_http_request_seconds", "Time to answer an HTTP request",
                    ["method", "endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class BusinessCollector:
    """Gauges read at scrape time from the database and Redis."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        overdue = GaugeMetricFamily("phananh_reports_overdue",
                                    "Open reports past their due time, per lead department",
                                    labels=["department"])
        rows = db.session.execute(
            select(Department.code, func.count(Report.id))
            .join(Report, Report.lead_department_id == Department.id)
            .where(Report.due_at.is_not(None), Report.overdue_at.is_not(None))
            .group_by(Department.code)
        ).all()
        for code, count in rows:
            overdue.add_metric([code], count)
        yield overdue

        pending = GaugeMetricFamily("phananh_outbox_pending",
                                    "Work written to the outbox and not yet completed")
        pending.add_metric([], db.session.execute(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.completed_at.is_(None))).scalar())
        yield pending

        depth = GaugeMetricFamily("phananh_queue_depth", "Jobs waiting in an RQ queue",
                                  labels=["queue"])
        failed = GaugeMetricFamily("phananh_jobs_failed", "Jobs in an RQ queue's failed registry",
                                   labels=["queue"])
        try:
            connection = redis_connection(self.app)
            for name in queues.ALL:
                queue = Queue(name, connection=connection)
                depth.add_metric([name], queue.count)
                failed.add_metric([name], FailedJobRegistry(queue=queue).count)
        except Exception:  # noqa: BLE001 - Redis away: the other gauges still report
            pass
        yield depth
        yield failed


def _authorised() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return True
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_timer():
        request.environ["feedback.started"] = time.perf_counter()

    @app.after_request
    def _count(response):
        started = request.environ.get("feedback.started")
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(request.method, endpoint, response.status_code).inc()
        if started is not None:
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics():
        if not _authorised():
            return Response("forbidden\n", status=403, mimetype="text/plain")
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess
            multiprocess.MultiProcessCollector(registry)
            process_metrics = generate_latest(registry)
        else:
            process_metrics = generate_latest(REGISTRY)
        business = CollectorRegistry()
        business.register(BusinessCollector(current_app._get_current_object()))
        return Response(process_metrics + generate_latest(business),
                        mimetype=CONTENT_TYPE_LATEST)
