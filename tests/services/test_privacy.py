"""Personal data under Nghị định 13/2023: a copy, deletion, retention, and who looked."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from feedback.models import IdentityView, Photo, PhotoKind, ReportEvent
from feedback.services import privacy, workflow
from feedback.services.intake import photo_storage
from feedback.services.storage import PhotoNotFound
from tests import factories


def _photo_with_original(db_session, report, storage, *, created_at=None, content=b"orig"):
    key = f"{content.hex():0<64}.jpg"[:68]
    storage.put(key, content, "image/jpeg")
    photo = Photo(report=report, kind=PhotoKind.REPORT, original_key=key,
                  original_sha256="0" * 64, original_format="JPEG",
                  original_bytes=len(content),
                  created_at=created_at or datetime.now(timezone.utc))
    db_session.add(photo)
    db_session.flush()
    return photo


def test_deleting_an_account_erases_identity_and_originals_and_keeps_the_handled_report(
        app, db_session):
    storage = photo_storage(app)
    citizen = factories.citizen(db_session, phone="+84987654321", name="Lê Văn Tám")
    report = factories.report(db_session, sender=citizen)
    report.contact_email = "tam@example.vn"
    photo = _photo_with_original(db_session, report, storage, content=b"exif and gps")
    key = photo.original_key
    summary = privacy.delete_citizen_account(db_session, citizen,
                                             now=datetime.now(timezone.utc), storage=storage)
    db_session.flush()
    assert summary == {"reports_anonymised": 1, "originals_deleted": 1}
    assert (citizen.phone, citizen.full_name, citizen.active) == (None, None, False)
    assert citizen.deleted_at is not None
    assert report.citizen_id is None and report.contact_email is None
    assert report.description and report.tracking_code  # the report stays
    assert db_session.execute(select(ReportEvent).where(
        ReportEvent.report_id == report.id)).scalars().all()  # and its history
    assert photo.original_key is None
    with pytest.raises(PhotoNotFound):
        storage.get(key)


def test_deleting_an_account_erases_the_words_a_moderator_edited_out(app, db_session):
    citizen = factories.citizen(db_session, name="Lê Văn Tám")
    report = factories.report(db_session, sender=citizen)
    report.title_original = "Nhà ông Tám, 0987654321"
    report.description_original = "Tôi là Lê Văn Tám, số 12 hẻm 5, gọi 0987654321."
    report.title, report.description = "Ổ gà", "Ổ gà trước nhà."
    privacy.delete_citizen_account(db_session, citizen, now=datetime.now(timezone.utc),
                                   storage=photo_storage(app))
    db_session.flush()
    assert (report.title_original, report.description_original) == (None, None)
    assert (report.title, report.description) == ("Ổ gà", "Ổ gà trước nhà.")


def test_the_same_phone_can_sign_up_again_after_deletion(app, db_session):
    citizen = factories.citizen(db_session, phone="+84987650000")
    privacy.delete_citizen_account(db_session, citizen, now=datetime.now(timezone.utc),
                                   storage=photo_storage(app))
    db_session.flush()
    again = factories.citizen(db_session, phone="+84987650000")
    assert again.id != citizen.id


def test_a_staff_account_is_not_deleted_this_way(app, db_session):
    with pytest.raises(ValueError):
        privacy.delete_citizen_account(db_session, factories.staff(db_session, "officer"),
                                       now=datetime.now(timezone.utc), storage=photo_storage(app))


def test_the_export_holds_the_account_the_reports_and_who_saw_the_identity(db_session):
    citizen = factories.citizen(db_session, phone="+84987651111", name="Phạm Thị Hoa")
    report = factories.report(db_session, sender=citizen)
    moderator = factories.staff(db_session, "moderator")
    privacy.record_identity_view(db_session, moderator, report, "api:staff_report")
    db_session.flush()
    data = privacy.export_citizen_data(db_session, citizen)
    assert data["account"]["phone"] == "+84987651111"
    assert [r["tracking_code"] for r in data["reports"]] == [report.tracking_code]
    assert data["reports"][0]["timeline"][0]["kind"] == "submitted"
    assert data["identity_views"][0]["viewer_role"] == "moderator"


def test_originals_past_the_retention_period_are_purged_and_newer_ones_kept(app, db_session):
    storage = photo_storage(app)
    report = factories.report(db_session)
    now = datetime.now(timezone.utc)
    old = _photo_with_original(db_session, report, storage, content=b"old one",
                               created_at=now - timedelta(days=91))
    new = _photo_with_original(db_session, report, storage, content=b"new one",
                               created_at=now - timedelta(days=89))
    assert privacy.purge_expired_originals(db_session, now=now, retention_days=90,
                                           storage=storage) == 1
    assert old.original_key is None and old.original_deleted_at == now
    assert new.original_key is not None


def test_a_moderator_seeing_the_reporter_is_logged_and_an_anonymous_report_hides_it_from_officers(
        client, db_session, auth_header):
    report = factories.report(db_session, anonymous=True)
    workflow.approve(db_session, report, actor=factories.staff(db_session, "moderator"),
                     now=datetime.now(timezone.utc))
    from feedback.services import routing
    routing.route(db_session, report, now=datetime.now(timezone.utc))
    db_session.commit()
    client.get(f"/api/v1/staff/reports/{report.tracking_code}", headers=auth_header("moderator"))
    client.get(f"/api/v1/staff/reports/{report.tracking_code}", headers=auth_header("officer"))
    views = db_session.execute(select(IdentityView).where(
        IdentityView.report_id == report.id)).scalars().all()
    assert [v.context for v in views] == ["api:staff_report"]
    assert views[0].viewer_id == factories.staff(db_session, "moderator").id
