"""What operators rely on: request ids, metrics, and the checking commands."""
from datetime import datetime, timedelta, timezone

from feedback.services import workflow
from tests import factories


def test_every_answer_carries_a_request_id_and_a_given_one_is_kept(client):
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 32
    given = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert given.headers["X-Request-Id"] == "abc-123"
    odd = client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert odd.headers["X-Request-Id"] != "<script>"


def test_work_written_by_a_request_carries_its_request_id(client, db_session, auth_header):
    from sqlalchemy import select

    from feedback.models import OutboxMessage
    report = factories.report(db_session)
    client.post(f"/api/v1/reports/{report.tracking_code}/approve",
                headers={**auth_header("moderator"), "X-Request-Id": "req-approve-1"})
    message = db_session.execute(select(OutboxMessage).where(
        OutboxMessage.function.like("%route_report"))).scalars().all()[-1]
    assert message.request_id == "req-approve-1"


def test_metrics_report_requests_queues_and_overdue_reports_per_department(
        app, client, db_session, redis):
    report = factories.report(db_session)
    report.lead_department = factories.staff(db_session, "officer").department
    report.overdue_at = datetime.now(timezone.utc)
    db_session.flush()
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'phananh_http_requests_total{endpoint="/healthz",method="GET",status="200"}' in body
    assert 'phananh_reports_overdue{department="ct-so-xay-dung"} 1.0' in body
    assert 'phananh_queue_depth{queue="routing"}' in body
    assert "phananh_outbox_pending" in body


def test_metrics_ask_for_the_token_when_one_is_set(app, client):
    app.config["METRICS_TOKEN"] = "t0ken"
    try:
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer t0ken"}).status_code == 200
    finally:
        app.config["METRICS_TOKEN"] = None


def test_check_routed_names_an_approved_report_left_unrouted(runner, db_session):
    long_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    report = factories.report(db_session, now=long_ago)
    workflow.approve(db_session, report, actor=factories.staff(db_session, "moderator"),
                     now=long_ago)
    db_session.flush()
    result = runner.invoke(args=["reports", "check-routed", "--older-than", "10"])
    assert result.exit_code == 1
    assert f"not routed: {report.tracking_code}" in result.output


def test_requeue_failed_runs_failed_jobs_again(app, runner, redis):
    from rq import Queue
    from rq.registry import FailedJobRegistry

    from workers.worker import make_worker
    queue = Queue("maintenance", connection=redis)
    job = queue.enqueue("builtins.int", "not a number")
    make_worker(app, ["maintenance"], redis).work(burst=True)
    assert FailedJobRegistry(queue=queue).count == 1
    result = runner.invoke(args=["jobs", "requeue-failed", "--queue", "maintenance"])
    assert "requeued 1 job(s)" in result.output
    assert job.id in queue.job_ids
