"""Notifications: a Vietnamese message to a citizen, a department or the supervisors,
kept for the apps to list, and pushed to a configured webhook through the outbox.

The push is a JSON POST signed with HMAC-SHA256 of the body under PUSH_WEBHOOK_SECRET,
sent as `X-Signature: sha256=<hex>`; the push service turns it into a phone notification.
"""
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.extensions import db
from feedback.models import STATUS_LABELS, Notification, Report, Role, User
from feedback.models.types import utcnow
from feedback.services import outbox

log = logging.getLogger(__name__)

PUSH = "feedback.services.notifications.push_notification"
PUSH_QUEUE = "notifications"

# kind → (title, body); formatted with code (tracking code), status, department, note.
MESSAGES = {
    # to the citizen
    "received": ("Đã nhận phản ánh {code}",
                 "Phản ánh {code} của bạn đã được tiếp nhận và đang chờ kiểm duyệt."),
    "rejected": ("Phản ánh {code} không được tiếp nhận",
                 "Phản ánh {code} không được tiếp nhận. Lý do: {note}"),
    "duplicate": ("Phản ánh {code} trùng với phản ánh khác",
                  "Phản ánh {code} trùng với phản ánh {note}; bạn có thể theo dõi phản ánh đó."),
    "assigned": ("Phản ánh {code} đã được chuyển xử lý",
                 "Phản ánh {code} đã được chuyển đến {department}."),
    "in_progress": ("Phản ánh {code} đang được xử lý",
                    "{department} đã tiếp nhận và đang xử lý phản ánh {code}."),
    "info_requested": ("Cần bổ sung thông tin cho {code}",
                       "{department} đề nghị bạn bổ sung thông tin: {note}"),
    "resolved": ("Phản ánh {code} đã được xử lý",
                 "{department} đã trả lời phản ánh {code}. Mời bạn xem và đánh giá."),
    "closed": ("Phản ánh {code} đã đóng", "Phản ánh {code} đã đóng. Cảm ơn bạn."),
    # to a department
    "new_work": ("Phản ánh mới {code}", "Đơn vị được giao xử lý phản ánh {code}."),
    "returned_info": ("Công dân đã bổ sung {code}", "Công dân đã bổ sung thông tin cho {code}."),
    "reopened": ("Phản ánh {code} được mở lại",
                 "Công dân chưa hài lòng và mở lại phản ánh {code}: {note}"),
    "deadline_warning": ("Sắp đến hạn: {code}", "Phản ánh {code} đã dùng 75% thời hạn xử lý."),
    "overdue": ("Quá hạn: {code}", "Phản ánh {code} đã quá hạn xử lý."),
    "reminder": ("Nhắc việc: {code}", "Phản ánh {code} vẫn quá hạn, chưa được xử lý xong."),
    "extension_decided": ("Gia hạn {code}: {note}", "Đề nghị gia hạn phản ánh {code}: {note}."),
    "answer_refused": ("Kết quả {code} chưa được duyệt",
                       "Lãnh đạo chưa duyệt kết quả xử lý phản ánh {code}: {note}"),
    # to supervisors
    "escalated": ("Quá hạn cần theo dõi: {code}",
                  "Phản ánh {code} của {department} đã quá hạn."),
    "extension_requested": ("Đề nghị gia hạn {code}",
                            "{department} đề nghị gia hạn phản ánh {code}: {note}"),
    "answer_to_review": ("Kết quả chờ duyệt {code}",
                         "{department} đã trả lời phản ánh {code}; kết quả chờ duyệt."),
}


def _text(kind: str, report: Report, note: str | None) -> tuple[str, str]:
    title, body = MESSAGES[kind]
    fields = {
        "code": report.tracking_code,
        "status": STATUS_LABELS[report.status],
        "department": report.lead_department.name if report.lead_department else "đơn vị xử lý",
        "note": note or "",
    }
    return title.format(**fields), body.format(**fields)


def _add(session: Session, report: Report, kind: str, note: str | None, *, now: datetime,
         user_id: int | None = None, department_id: int | None = None) -> Notification:
    title, body = _text(kind, report, note)
    notification = Notification(user_id=user_id, department_id=department_id,
                                report_id=report.id, kind=kind, title=title, body=body,
                                created_at=now)
    session.add(notification)
    return notification


def _push_later(session: Session, notifications: list[Notification]) -> None:
    if not current_app.config.get("PUSH_WEBHOOK_URL") or not notifications:
        return
    session.flush()
    for notification in notifications:
        outbox.schedule(session, PUSH, notification.id, queue=PUSH_QUEUE,
                        key=f"n{notification.id}")


def notify_citizen(session: Session, report: Report, kind: str, *, now: datetime | None = None,
                   note: str | None = None) -> Notification | None:
    """Tell the citizen who sent the report (none when the account is gone)."""
    if report.citizen_id is None:
        return None
    notification = _add(session, report, kind, note, now=now or utcnow(),
                        user_id=report.citizen_id)
    _push_later(session, [notification])
    return notification


def notify_department(session: Session, report: Report, kind: str, *,
                     department_id: int | None = None, now: datetime | None = None,
                     note: str | None = None) -> Notification:
    """Tell a department's staff (the lead department unless another is named)."""
    if department_id is None:
        # The relationship, not the column: a department just assigned is not flushed,
        # so lead_department_id would still be empty and the notice would go to no one.
        lead = report.lead_department
        department_id = lead.id if lead is not None else report.lead_department_id
    notification = _add(session, report, kind, note, now=now or utcnow(),
                        department_id=department_id)
    _push_later(session, [notification])
    return notification


def notify_supervisors(session: Session, report: Report, kind: str, *,
                       now: datetime | None = None, note: str | None = None) -> list[Notification]:
    """Tell every active supervisor, each in their own list."""
    supervisor_ids = session.execute(
        select(User.id).where(User.role == Role.SUPERVISOR, User.active.is_(True))
    ).scalars().all()
    notifications = [_add(session, report, kind, note, now=now or utcnow(), user_id=user_id)
                     for user_id in supervisor_ids]
    _push_later(session, notifications)
    return notifications


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class PushFailed(RuntimeError):
    pass


def push_notification(notification_id: int) -> str:
    """Outbox job: POST one notification to the push webhook, signed. Once only."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.pushed_at is not None:
        return "nothing to push"
    config = current_app.config
    body = json.dumps({
        "id": notification.id, "kind": notification.kind, "title": notification.title,
        "body": notification.body, "user_id": notification.user_id,
        "department_id": notification.department_id, "report_id": notification.report_id,
        "created_at": notification.created_at.isoformat(),
    }, ensure_ascii=False).encode()
    request = urllib.request.Request(
        config["PUSH_WEBHOOK_URL"], data=body, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8",
                 "X-Signature": sign(body, config["PUSH_WEBHOOK_SECRET"] or ""),
                 "X-Notification-Id": str(notification.id)},
    )
    try:
        with urllib.request.urlopen(request, timeout=config["PUSH_TIMEOUT_SECONDS"]) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise PushFailed(f"push webhook answered {exc.code}") from exc
    except OSError as exc:
        raise PushFailed(f"push webhook unreachable: {exc}") from exc
    notification.pushed_at = utcnow()
    return f"pushed ({status})"
