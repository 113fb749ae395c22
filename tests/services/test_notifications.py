"""Notifications are kept for the apps and pushed, signed, to a webhook through the outbox."""
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from feedback.models import Notification, OutboxMessage
from feedback.services import notifications
from tests import factories
from workers.jobs import perform


@pytest.fixture
def webhook():
    """A real HTTP server on 127.0.0.1 standing in for the push service."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        status = 200

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(Handler.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/push", received, Handler
    server.shutdown()


@pytest.fixture
def push_to(app, webhook):
    url, received, handler = webhook
    app.config.update(PUSH_WEBHOOK_URL=url, PUSH_WEBHOOK_SECRET="s3cret")
    yield received, handler
    app.config.update(PUSH_WEBHOOK_URL=None, PUSH_WEBHOOK_SECRET=None)


def _push_messages(db_session):
    return db_session.execute(select(OutboxMessage).where(
        OutboxMessage.function == notifications.PUSH)).scalars().all()


def test_a_citizen_notification_is_in_vietnamese_and_names_the_report(db_session):
    report = factories.report(db_session)
    notification = notifications.notify_citizen(db_session, report, "received")
    assert notification.user_id == report.citizen_id
    assert notification.title == f"Đã nhận phản ánh {report.tracking_code}"


def test_without_a_webhook_nothing_is_scheduled_to_push(db_session):
    notifications.notify_citizen(db_session, factories.report(db_session), "received")
    assert _push_messages(db_session) == []


def test_the_push_is_signed_with_hmac_and_sent_once(app, db_session, push_to):
    received, _ = push_to
    report = factories.report(db_session)
    notification = notifications.notify_citizen(db_session, report, "received")
    db_session.commit()
    message_id = _push_messages(db_session)[0].id
    perform(message_id)
    perform(message_id)  # run twice: pushed once
    assert len(received) == 1
    headers, body = received[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == expected
    payload = json.loads(body)
    assert payload["id"] == notification.id and payload["report_id"] == report.id
    assert db_session.get(Notification, notification.id).pushed_at is not None


def test_a_push_the_webhook_refuses_is_left_to_retry(app, db_session, push_to):
    received, handler = push_to
    handler.status = 503
    notifications.notify_citizen(db_session, factories.report(db_session), "received")
    db_session.commit()
    message = _push_messages(db_session)[0]
    with pytest.raises(notifications.PushFailed):
        perform(message.id)
    handler.status = 200
    db_session.expire_all()
    assert db_session.get(OutboxMessage, message.id).completed_at is None


def test_supervisors_each_get_an_escalation(db_session):
    report = factories.report(db_session)
    sent = notifications.notify_supervisors(db_session, report, "escalated")
    assert [n.user_id for n in sent] == [factories.staff(db_session, "supervisor").id]


def test_the_department_a_report_is_routed_to_is_told_of_its_new_work(db_session, now):
    report = factories.routed_report(db_session, now=now)
    [notice] = db_session.execute(select(Notification).where(
        Notification.report_id == report.id, Notification.kind == "new_work")).scalars().all()
    assert notice.department_id == report.lead_department.id
    assert notice.user_id is None
