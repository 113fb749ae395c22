"""Moderators in the web view: the queue, and each move on a new report."""
from datetime import timedelta

from sqlalchemy import select

from feedback.models import OutboxMessage, Photo, PhotoKind, PhotoState, ReportEvent
from tests import factories, samples


def _ready_photo(db_session, report, *, hidden=False):
    photo = Photo(report=report, kind=PhotoKind.REPORT, position=0, state=PhotoState.READY,
                  original_key="original-" + "a" * 64 + ".jpg", original_sha256="a" * 64,
                  original_format="jpeg", original_bytes=10, display_key="b" * 64 + ".jpg",
                  thumbnail_key="c" * 64 + ".jpg", is_hidden=hidden)
    db_session.add(photo)
    db_session.flush()
    return photo


def test_the_queue_lists_new_reports_oldest_first_with_the_senders_history(
        staff_client, db_session, now):
    sender = factories.citizen(db_session)
    older = factories.report(db_session, now=now - timedelta(hours=5), sender=sender)
    newer = factories.report(db_session, now=now - timedelta(hours=1), sender=sender)
    rejected = factories.report(db_session, now=now - timedelta(days=3), sender=sender)
    from feedback.services import workflow
    workflow.reject(db_session, rejected, actor=factories.staff(db_session, "moderator"), now=now,
                    reason_code="spam")
    page = staff_client("moderator").text("/staff/moderation/")
    assert page.index(older.tracking_code) < page.index(newer.tracking_code)
    assert rejected.tracking_code not in page
    # The sender has sent three reports, one of them rejected.
    card = page[page.index(older.tracking_code):page.index(newer.tracking_code)]
    assert '<dd>3</dd>' in card and '<dd class="rej">1</dd>' in card


def test_approving_hands_the_report_to_routing(staff_client, db_session, now):
    report = factories.report(db_session, now=now)
    moderator = staff_client("moderator")
    page = moderator.text(f"/staff/reports/{report.tracking_code}")
    assert "Sở Xây dựng thành phố Cần Thơ" in page  # the rule's suggestion
    response = moderator.post(f"/staff/moderation/reports/{report.tracking_code}/approve",
                              {"version": report.version})
    assert response.status_code == 302 and response.location == "/staff/moderation/"
    assert report.moderated_at is not None
    assert db_session.execute(select(OutboxMessage).where(
        OutboxMessage.function == "feedback.services.routing.route_report",
        OutboxMessage.args == [report.id])).scalar_one()


def test_rejecting_needs_a_reason_from_the_list(staff_client, db_session, now):
    report = factories.report(db_session, now=now)
    moderator = staff_client("moderator")
    moderator.get(f"/staff/reports/{report.tracking_code}")
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/reject",
                   {"version": report.version, "reason_code": "made-up"})
    assert report.status == "submitted"
    assert "Thông tin chưa hợp lệ" in moderator.text(f"/staff/reports/{report.tracking_code}")
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/reject",
                   {"version": report.version, "reason_code": "not_a_field_problem",
                    "note": "Đây là câu hỏi về thủ tục."})
    assert report.status == "rejected"
    assert report.rejection_reason == "Không phải phản ánh hiện trường: Đây là câu hỏi về thủ tục."


def test_a_duplicate_is_merged_into_a_nearby_report_of_its_category(staff_client, db_session, now):
    original = factories.routed_report(db_session, now=now - timedelta(hours=3))
    far = factories.routed_report(db_session, now=now - timedelta(hours=2))
    far.latitude += 0.01  # about a kilometre north
    other_category = factories.routed_report(db_session, now=now - timedelta(hours=2),
                                             category="cay-xanh")
    report = factories.report(db_session, now=now)
    moderator = staff_client("moderator")
    page = moderator.text(f"/staff/reports/{report.tracking_code}")
    candidates = page[page.index('class="candidates"'):]
    assert original.tracking_code in candidates
    assert far.tracking_code not in candidates and other_category.tracking_code not in candidates
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/duplicate",
                   {"version": report.version, "duplicate_of": original.tracking_code})
    assert report.status == "duplicate" and report.duplicate_of_id == original.id


def test_routing_by_hand_from_the_manual_routing_queue(staff_client, db_session, now):
    from feedback.services import routing, workflow

    report = factories.report(db_session, now=now, category="khac")
    workflow.approve(db_session, report, actor=factories.staff(db_session, "moderator"), now=now)
    routing.route(db_session, report, now=now)
    assert report.manual_routing == "no_rule"
    moderator = staff_client("moderator")
    assert report.tracking_code in moderator.text("/staff/moderation/routing")
    assert report.tracking_code not in moderator.text("/staff/moderation/")
    moderator.get(f"/staff/reports/{report.tracking_code}")
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/route",
                   {"version": report.version, "department": "ct-ubnd-31135",
                    "coordinators": ["ct-cong-an"]})
    assert report.status == "assigned" and report.lead_department.code == "ct-ubnd-31135"
    assert [d.code for d in report.coordinators] == ["ct-cong-an"]


def test_changing_the_category(staff_client, db_session, now):
    report = factories.report(db_session, now=now)
    moderator = staff_client("moderator")
    moderator.get(f"/staff/reports/{report.tracking_code}")
    response = moderator.post(f"/staff/moderation/reports/{report.tracking_code}/category",
                              {"version": report.version, "category": "cay-xanh"})
    assert response.location == f"/staff/reports/{report.tracking_code}"
    assert report.category.code == "cay-xanh"


def test_personal_data_is_edited_out_and_the_original_kept_for_admins_only(
        staff_client, db_session, now):
    report = factories.report(db_session, now=now,
                              description="Ổ gà trước nhà anh Tuấn, SĐT 0912345678.")
    moderator = staff_client("moderator")
    moderator.get(f"/staff/reports/{report.tracking_code}")
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/redact",
                   {"version": report.version, "description": "Ổ gà trước nhà dân."})
    assert report.description == "Ổ gà trước nhà dân."
    assert report.description_original == "Ổ gà trước nhà anh Tuấn, SĐT 0912345678."
    event = db_session.execute(select(ReportEvent).where(
        ReportEvent.report_id == report.id, ReportEvent.kind == "description_edited")).scalar_one()
    assert event.note is None and not event.is_public
    assert "0912345678" not in moderator.text(f"/staff/reports/{report.tracking_code}")
    assert "0912345678" in staff_client("admin").text(f"/staff/reports/{report.tracking_code}")


def test_the_title_is_redacted_too_and_its_original_kept_for_admins_only(
        staff_client, db_session, now):
    report = factories.report(db_session, now=now, description="Ổ gà trước nhà dân.")
    report.title = "Ổ gà nhà anh Tuấn 0912345678"
    db_session.flush()
    moderator = staff_client("moderator")
    page = moderator.text(f"/staff/reports/{report.tracking_code}")
    assert 'name="title"' in page[page.index("/redact"):]
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/redact",
                   {"version": report.version, "title": "Ổ gà trước nhà dân",
                    "description": report.description})
    assert report.title == "Ổ gà trước nhà dân"
    assert report.title_original == "Ổ gà nhà anh Tuấn 0912345678"
    assert report.description_original is None
    assert "0912345678" not in moderator.text(f"/staff/reports/{report.tracking_code}")
    assert "0912345678" in staff_client("admin").text(f"/staff/reports/{report.tracking_code}")


def test_hiding_a_photo(staff_client, db_session, now):
    report = factories.routed_report(db_session, now=now)
    photo = _ready_photo(db_session, report)
    moderator = staff_client("moderator")
    moderator.get(f"/staff/reports/{report.tracking_code}")
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/photos/{photo.id}/hide",
                   {"version": report.version, "reason": "Lộ biển số xe"})
    assert photo.is_hidden and photo.hidden_reason == "Lộ biển số xe"
    # Moderators still see it, marked hidden; the department no longer does.
    assert "Đã ẩn" in moderator.text(f"/staff/reports/{report.tracking_code}")
    officer = staff_client("officer")
    assert photo.thumbnail_key not in officer.text(f"/staff/reports/{report.tracking_code}")
    assert officer.get(f"/staff/reports/photos/{photo.id}/{photo.thumbnail_key}").status_code == 404


def test_blurring_a_region_of_a_photo(staff_client, db_session, now):
    report = factories.routed_report(db_session, now=now)
    photo = factories.stored_photo(db_session, report)
    old_display = photo.display_key
    moderator = staff_client("moderator")
    page = moderator.text(f"/staff/reports/{report.tracking_code}")
    assert "Làm mờ một vùng" in page and "data-blur-picker" in page
    url = f"/staff/moderation/reports/{report.tracking_code}/photos/{photo.id}/blur"

    moderator.post(url, {"version": report.version, "left": "0", "top": "0", "width": "0",
                         "height": "50"})
    assert photo.display_key == old_display  # an empty region: refused, nothing changed
    assert "Vùng cần làm mờ phải nằm trong ảnh" in moderator.text(
        f"/staff/reports/{report.tracking_code}")

    moderator.post(url, {"version": report.version, "left": "40", "top": "40", "width": "20",
                         "height": "20"})
    assert photo.display_key != old_display
    assert "Làm mờ một vùng trong ảnh" in moderator.text(f"/staff/reports/{report.tracking_code}")
    # The old copy is served to no one from now on; the new one has the region blurred.
    officer = staff_client("officer")
    assert officer.get(f"/staff/reports/photos/{photo.id}/{old_display}").status_code == 404
    public = staff_client()
    assert public.get(f"/api/v1/photos/{photo.id}/{old_display}").status_code == 404
    assert public.get(f"/api/v1/photos/{photo.id}/{photo.display_key}").status_code == 200
    served = officer.get(f"/staff/reports/photos/{photo.id}/{photo.display_key}")
    assert served.status_code == 200
    face = (420, 320, 580, 430)
    assert samples.detail(served.data, face) < 30


def test_a_report_another_moderator_holds_cannot_be_acted_on(staff_client, db_session, now):
    report = factories.report(db_session, now=now)
    first, second = staff_client("moderator"), staff_client("admin")
    first.text(f"/staff/reports/{report.tracking_code}")  # claims it
    page = second.text(f"/staff/reports/{report.tracking_code}")
    assert "đang xử lý phản ánh này" in page and "<fieldset disabled " in page
    assert "Kiểm duyệt viên IOC" in second.text("/staff/moderation/")  # shown on the queue
    second.post(f"/staff/moderation/reports/{report.tracking_code}/approve",
                {"version": report.version})
    assert report.moderated_at is None
    # "Take the next report" skips it for the second moderator.
    other = factories.report(db_session, now=now + timedelta(seconds=1))
    response = second.post("/staff/moderation/next")
    assert response.location == f"/staff/reports/{other.tracking_code}"
    # The holder's move goes through and lets go of the claim.
    first.post(f"/staff/moderation/reports/{report.tracking_code}/approve",
               {"version": report.version})
    assert report.moderated_at is not None


def test_a_stale_form_is_refused_not_applied(staff_client, db_session, now):
    report = factories.report(db_session, now=now)
    moderator = staff_client("moderator")
    stale = report.version
    moderator.get(f"/staff/reports/{report.tracking_code}")
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/category",
                   {"version": stale, "category": "cay-xanh"})
    response = moderator.post(f"/staff/moderation/reports/{report.tracking_code}/reject",
                              {"version": stale, "reason_code": "spam"})
    assert response.location == f"/staff/reports/{report.tracking_code}"
    assert report.status == "submitted"
    assert "Người khác vừa thay đổi phản ánh này" in moderator.text(
        f"/staff/reports/{report.tracking_code}")


def _holder(app, report):
    from feedback.web.common import claims

    with app.test_request_context():
        return claims().holder(report.id)


def test_a_moderator_gives_a_report_back_to_the_queue(staff_client, db_session, now, app):
    report = factories.report(db_session, now=now)
    moderator = staff_client("moderator")
    page = moderator.text(f"/staff/reports/{report.tracking_code}")
    assert _holder(app, report).name == "Kiểm duyệt viên IOC"
    release = f"/staff/moderation/reports/{report.tracking_code}/release"
    assert f'action="{release}"' in page and "Trả lại hàng chờ" in page
    response = moderator.post(release)
    assert response.location == "/staff/moderation/" and _holder(app, report) is None
    # Another moderator may now take it at once.
    assert "đang xử lý phản ánh này" not in staff_client("admin").text(
        f"/staff/reports/{report.tracking_code}")


def test_moves_that_end_moderation_release_the_claim_and_edits_keep_it(
        staff_client, db_session, now, app):
    from feedback.services import routing, workflow

    report = factories.report(db_session, now=now, description="Gọi 0912345678.")
    moderator = staff_client("moderator")
    moderator.get(f"/staff/reports/{report.tracking_code}")
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/redact",
                   {"version": report.version, "description": "Gọi [đã ẩn]."})
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/category",
                   {"version": report.version, "category": "cay-xanh"})
    assert report.category.code == "cay-xanh" and _holder(app, report) is not None
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/reject",
                   {"version": report.version, "reason_code": "spam"})
    assert report.status == "rejected" and _holder(app, report) is None

    # A report waiting to be routed by hand: a new category routes it again, by its rules.
    waiting = factories.report(db_session, now=now, category="khac")
    workflow.approve(db_session, waiting, actor=factories.staff(db_session, "moderator"), now=now)
    routing.route(db_session, waiting, now=now)
    moderator.get(f"/staff/reports/{waiting.tracking_code}")
    assert _holder(app, waiting) is not None
    response = moderator.post(f"/staff/moderation/reports/{waiting.tracking_code}/category",
                              {"version": waiting.version, "category": "giao-thong"})
    assert waiting.manual_routing is None and _holder(app, waiting) is None
    assert response.location == "/staff/moderation/"


def test_renewing_a_claim_says_who_holds_it_or_that_the_report_moved_on(
        staff_client, db_session, now, app):
    from feedback.services import workflow

    report = factories.report(db_session, now=now)
    first, second = staff_client("moderator"), staff_client("admin")
    first.get(f"/staff/reports/{report.tracking_code}")
    renew = f"/staff/moderation/reports/{report.tracking_code}/claim"
    answer = first.post(renew).json
    assert answer["claimed"] and answer["available"] and not answer["moved"]
    answer = second.post(renew).json
    assert not answer["claimed"] and answer["holder"] == "Kiểm duyệt viên IOC"
    workflow.approve(db_session, report, actor=factories.staff(db_session, "admin"), now=now)
    db_session.flush()
    answer = first.post(renew).json
    assert not answer["claimed"] and answer["moved"]


def test_the_claim_notice_texts_are_on_the_page_for_the_script(staff_client, db_session, now):
    report = factories.report(db_session, now=now)
    page = staff_client("moderator").text(f"/staff/reports/{report.tracking_code}")
    banner = page[page.index("data-claim-url"):]
    banner = banner[:banner.index(">")]
    for attribute in ("data-claim-every", "data-text-taken", "data-text-lapsed",
                      "data-text-moved"):
        assert attribute in banner
    assert "data-claim-scope" in page


def test_a_refused_move_is_explained_in_the_pages_language(staff_client, db_session, now):
    report = factories.report(db_session, now=now)
    moderator = staff_client("moderator")
    moderator.get(f"/staff/reports/{report.tracking_code}")
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/duplicate",
                   {"version": report.version, "duplicate_of": report.tracking_code})
    page = moderator.text(f"/staff/reports/{report.tracking_code}")
    assert f"Không thể gộp vào {report.tracking_code}" in page
    assert "Merge into" not in page and "Not a report" not in page
    moderator.post("/staff/language", {"lang": "en"})
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/category",
                   {"version": report.version, "category": report.category.code})
    page = moderator.text(f"/staff/reports/{report.tracking_code}")
    assert "The report is in this category already." in page
    moderator.post(f"/staff/moderation/reports/{report.tracking_code}/reject",
                   {"version": report.version})
    assert "Reason: missing" in moderator.text(f"/staff/reports/{report.tracking_code}")
