"""A citizen's personal data under Nghị định 13/2023: a copy on request, deletion of the
account, originals kept no longer than the retention period, and a log of who saw
whose identity.

Deleting an account erases who the citizen is (name, phone number, the originals of
their photos, which carry camera metadata, and the words a moderator edited out of
their reports' text) and keeps the anonymised reports with
their handling history: how each report was handled stays public record.
"""
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feedback.models import (
    STATUS_LABELS,
    IdentityView,
    Notification,
    Photo,
    Report,
    ReportEvent,
    Role,
    User,
)
from feedback.services.storage import PhotoNotFound

log = logging.getLogger(__name__)


def record_identity_view(session: Session, viewer: User, report: Report, context: str) -> None:
    """Staff saw who sent this report: keep it, for the citizen to ask about."""
    session.add(IdentityView(viewer_id=viewer.id, citizen_id=report.citizen_id,
                             report_id=report.id, context=context))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_citizen_data(session: Session, citizen: User) -> dict:
    """Everything the system holds about a citizen, as they may ask for it."""
    reports = session.execute(
        select(Report).where(Report.citizen_id == citizen.id).order_by(Report.id)
    ).scalars().all()
    report_ids = [report.id for report in reports]
    events = session.execute(
        select(ReportEvent).where(ReportEvent.report_id.in_(report_ids))
        .order_by(ReportEvent.id)).scalars().all() if report_ids else []
    viewers = session.execute(
        select(IdentityView.viewed_at, IdentityView.context, User.role)
        .join(User, User.id == IdentityView.viewer_id)
        .where(IdentityView.citizen_id == citizen.id).order_by(IdentityView.viewed_at)
    ).all()
    notifications = session.execute(
        select(Notification).where(Notification.user_id == citizen.id)
        .order_by(Notification.id)).scalars().all()
    by_report: dict[int, list] = {}
    for event in events:
        by_report.setdefault(event.report_id, []).append({
            "kind": event.kind, "at": _iso(event.created_at),
            "from_status": event.from_status and str(event.from_status),
            "to_status": event.to_status and str(event.to_status), "note": event.note,
        })
    return {
        "account": {"id": citizen.id, "phone": citizen.phone, "full_name": citizen.full_name,
                    "created_at": _iso(citizen.created_at),
                    "last_login_at": _iso(citizen.last_login_at)},
        "reports": [{
            "tracking_code": report.tracking_code, "status": str(report.status),
            "status_label": STATUS_LABELS[report.status], "category": report.category.code,
            "title": report.title, "description": report.description,
            "latitude": report.latitude, "longitude": report.longitude,
            "address": report.address_text, "commune_code": report.area_code,
            "anonymous": report.is_anonymous, "public": report.is_public,
            "submitted_at": _iso(report.submitted_at), "outcome": report.outcome and
            str(report.outcome), "answer": report.answer_text,
            "rating": report.rating and str(report.rating), "rating_comment": report.rating_comment,
            "photos": len(report.photos), "timeline": by_report.get(report.id, []),
        } for report in reports],
        "notifications": [{"title": n.title, "body": n.body, "at": _iso(n.created_at),
                           "read_at": _iso(n.read_at)} for n in notifications],
        # Who saw the citizen's identity: roles, not names, and where.
        "identity_views": [{"at": _iso(at), "context": context, "viewer_role": str(role)}
                           for at, context, role in viewers],
    }


def _delete_originals(session: Session, photos, storage, now: datetime) -> int:
    deleted = 0
    for photo in photos:
        if photo.original_key is None:
            continue
        # Originals are named by content hash: another photo may share one.
        shared = session.execute(
            select(Photo.id).where(Photo.original_key == photo.original_key,
                                   Photo.id != photo.id, Photo.original_deleted_at.is_(None))
        ).first()
        if shared is None:
            try:
                storage.delete(photo.original_key)
            except PhotoNotFound:
                pass
        photo.original_key = None
        photo.original_deleted_at = now
        deleted += 1
    return deleted


def delete_citizen_account(session: Session, citizen: User, *, now: datetime, storage) -> dict:
    """Erase who the citizen is; keep their reports, anonymised, and their history."""
    if citizen.role != Role.CITIZEN:
        raise ValueError("only a citizen's own account is deleted this way")
    reports = session.execute(
        select(Report).where(Report.citizen_id == citizen.id)).scalars().all()
    photos = session.execute(
        select(Photo).where(Photo.report_id.in_([r.id for r in reports]))
        .where(Photo.uploaded_by_id.is_(None) | (Photo.uploaded_by_id == citizen.id))
    ).scalars().all() if reports else []
    originals = _delete_originals(session, photos, storage, now)
    for report in reports:
        report.citizen_id = None
        report.contact_name = report.contact_phone = report.contact_email = None
        report.device_id = None
        report.idempotency_key = report.request_fingerprint = None
        # What a moderator edited out of the public text is personal data by definition.
        report.title_original = report.description_original = None
        report.is_anonymous = True
    session.execute(update(Notification).where(Notification.user_id == citizen.id)
                    .values(body="", title=""))
    citizen.phone = None
    citizen.full_name = None
    citizen.email = None
    citizen.active = False
    citizen.deleted_at = now
    citizen.token_version += 1
    log.info("citizen account %s deleted: %d reports anonymised, %d originals removed",
             citizen.id, len(reports), originals)
    return {"reports_anonymised": len(reports), "originals_deleted": originals}


def purge_expired_originals(session: Session, *, now: datetime, retention_days: int, storage,
                            batch_size: int = 500) -> int:
    """Remove photo originals older than the retention period (displays stay)."""
    cutoff = now - timedelta(days=retention_days)
    photos = session.execute(
        select(Photo).where(Photo.original_key.is_not(None), Photo.created_at < cutoff)
        .order_by(Photo.id).limit(batch_size)
    ).scalars().all()
    return _delete_originals(session, photos, storage, now)
