"""The state machine of a report's life, on the real database, with real RQ workers."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from feedback.models import (
    Category,
    Department,
    ExtensionState,
    ManualRouting,
    Notification,
    Outcome,
    Photo,
    PhotoKind,
    Rating,
    ReportEvent,
    ReportStatus,
    ReviewState,
)
from feedback.services import routing, workflow
from tests import factories
from workers import queues
from workers.worker import make_worker

S = ReportStatus
# A Tuesday morning in Cần Thơ, in working hours.
TUESDAY = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)  # 09:00 ICT


def _department(db_session, code):
    return db_session.execute(select(Department).where(Department.code == code)).scalar_one()


def _events(db_session, report):
    return db_session.execute(
        select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id)
    ).scalars().all()


def _route(db_session, report, now=TUESDAY):
    return routing.route(db_session, report, now=now)


def _approved_and_routed(db_session, **kwargs):
    report = factories.report(db_session, now=TUESDAY, **kwargs)
    workflow.approve(db_session, report, actor=factories.staff(db_session, "moderator"),
                     now=TUESDAY)
    _route(db_session, report)
    return report


@pytest.mark.embedded
def test_an_approved_report_is_routed_by_a_real_worker_to_the_department_its_rules_name(
        app, db_session, redis):
    report = factories.report(db_session, category="trat-tu-do-thi", commune="31135")
    workflow.approve(db_session, report, actor=factories.staff(db_session, "moderator"),
                     now=datetime.now(timezone.utc))
    report_id = report.id
    db_session.commit()
    make_worker(app, queues.ALL, redis).work(burst=True)
    routed = workflow.load_for_move(db_session, report_id)
    assert routed.status == S.ASSIGNED
    assert routed.lead_department.code == "ct-ubnd-31135"  # the commune's committee
    assert routed.due_at is not None and routed.step_started_at is not None
    kinds = [event.kind for event in _events(db_session, routed)]
    assert kinds == ["submitted", "approved", "assigned"]
    notified = db_session.execute(
        select(Notification.kind).where(Notification.report_id == report_id)).scalars().all()
    assert sorted(notified) == ["assigned", "new_work"]


def test_routing_twice_routes_once(db_session):
    report = _approved_and_routed(db_session)
    assert _route(db_session, report) == "already routed"
    assert [e.kind for e in _events(db_session, report)].count("assigned") == 1


def test_a_province_rule_serves_a_commune_without_a_rule_of_its_own(db_session):
    report = _approved_and_routed(db_session, category="giao-thong", commune="31135")
    assert report.lead_department.code == "ct-so-xay-dung"


def test_a_commune_rule_wins_over_the_province_and_brings_its_coordinators(db_session):
    report = _approved_and_routed(db_session, category="cap-thoat-nuoc-ngap", commune="31321")
    assert report.lead_department.code == "ct-cap-thoat-nuoc-hg"
    assert [d.code for d in report.coordinators] == ["ct-so-xay-dung"]


def test_among_rules_for_the_same_area_the_higher_priority_wins(db_session):
    from feedback.models import RoutingRule
    category = db_session.execute(select(Category).where(Category.code == "cay-xanh")).scalar_one()
    db_session.add(RoutingRule(category=category, area_code="92", priority=10,
                               department=_department(db_session, "ct-so-nnmt")))
    db_session.flush()
    report = _approved_and_routed(db_session, category="cay-xanh")
    assert report.lead_department.code == "ct-so-nnmt"


def test_a_report_no_rule_matches_waits_for_a_moderator_who_routes_it_by_hand(db_session):
    report = _approved_and_routed(db_session, category="khac")
    assert report.status == S.SUBMITTED
    assert report.manual_routing == ManualRouting.NO_RULE
    workflow.route_manually(db_session, report, _department(db_session, "ct-so-noi-vu"),
                            actor=factories.staff(db_session, "moderator"), now=TUESDAY)
    assert report.status == S.ASSIGNED and report.manual_routing is None


def test_a_returned_report_goes_back_to_the_manual_routing_queue(db_session):
    report = _approved_and_routed(db_session)
    workflow.return_report(db_session, report, actor=factories.staff(db_session, "officer"),
                           now=TUESDAY, reason_code="not_our_competence", note="Việc của xã")
    assert report.status == S.SUBMITTED
    assert report.manual_routing == ManualRouting.RETURNED
    assert report.lead_department is None
    assert _route(db_session, report) == "waiting for a moderator"


def test_acknowledging_starts_the_resolution_clock_of_five_working_days(db_session):
    report = _approved_and_routed(db_session)
    workflow.acknowledge(db_session, report, actor=factories.staff(db_session, "officer"),
                         now=TUESDAY)
    assert report.status == S.IN_PROGRESS
    assert report.first_response_at == TUESDAY
    assert report.resolve_due_at == TUESDAY + timedelta(days=7)  # next Tuesday, 09:00


@pytest.mark.parametrize("move", ["acknowledge", "answer", "request_extension"])
def test_a_department_cannot_act_on_a_report_before_it_is_routed(db_session, move):
    report = factories.report(db_session, now=TUESDAY)
    report.lead_department = factories.staff(db_session, "officer").department
    with pytest.raises(workflow.IllegalMove):
        workflow.check(move, report, factories.staff(db_session, "officer"))


def test_an_officer_of_another_department_may_not_act(db_session):
    report = _approved_and_routed(db_session)
    with pytest.raises(workflow.NotAllowed, match="not your department"):
        workflow.acknowledge(db_session, report,
                             actor=factories.staff(db_session, "officer.ninhkieu"), now=TUESDAY)


@pytest.mark.parametrize("move", ["acknowledge", "request_info", "answer", "return",
                                  "request_extension"])
def test_a_coordinating_department_follows_a_report_but_every_move_stays_the_leads(
        db_session, move):
    report = _approved_and_routed(db_session, category="cap-thoat-nuoc-ngap", commune="31321")
    coordinator = factories.staff(db_session, "officer")
    assert coordinator.department in report.coordinators
    with pytest.raises(workflow.NotAllowed, match="not your department"):
        workflow.check(move, report, coordinator)
    report.status = S.IN_PROGRESS  # acknowledged by the lead: still not the coordinator's
    with pytest.raises(workflow.NotAllowed, match="not your department"):
        workflow.check(move, report, coordinator)


def test_a_moderator_may_not_decide_an_extension(db_session):
    report = _approved_and_routed(db_session)
    with pytest.raises(workflow.NotAllowed):
        workflow.check("decide_extension", report, factories.staff(db_session, "moderator"))


def test_a_rejection_needs_a_reason_from_the_list_and_tells_the_citizen(db_session):
    report = factories.report(db_session, now=TUESDAY)
    moderator = factories.staff(db_session, "moderator")
    with pytest.raises(workflow.InvalidMove):
        workflow.reject(db_session, report, actor=moderator, now=TUESDAY, reason_code="meh")
    workflow.reject(db_session, report, actor=moderator, now=TUESDAY, reason_code="spam")
    assert report.status == S.REJECTED and report.due_at is None
    assert "Tin rác" in report.rejection_reason
    event = _events(db_session, report)[-1]
    assert (event.kind, event.from_status, event.to_status, event.actor_role) == (
        "rejected", S.SUBMITTED, S.REJECTED, "moderator")


def test_a_duplicate_points_the_citizen_to_the_original(db_session):
    original = _approved_and_routed(db_session)
    copy = factories.report(db_session, now=TUESDAY)
    workflow.mark_duplicate(db_session, copy, original,
                            actor=factories.staff(db_session, "moderator"), now=TUESDAY)
    db_session.flush()
    assert copy.status == S.DUPLICATE and copy.duplicate_of_id == original.id
    with pytest.raises(workflow.InvalidMove):
        workflow.mark_duplicate(db_session, factories.report(db_session), copy,
                                actor=factories.staff(db_session, "moderator"), now=TUESDAY)


def test_asking_the_citizen_stops_the_clock_and_answering_gives_the_time_back(db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    due_before = report.due_at
    workflow.request_info(db_session, report, actor=officer, now=TUESDAY + timedelta(hours=1),
                          question="Xin vị trí chính xác")
    assert report.status == S.AWAITING_CITIZEN and report.due_at is None
    assert report.paused_remaining_minutes == 40 * 60 - 60
    a_week_later = TUESDAY + timedelta(days=7, hours=1)
    workflow.provide_info(db_session, report, actor=report.citizen, now=a_week_later,
                          text="Trước nhà số 12")
    assert report.status == S.IN_PROGRESS
    assert report.due_at == due_before + timedelta(days=7)


def test_a_fixed_answer_needs_a_photo_and_a_planned_one_does_not(db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    with pytest.raises(workflow.InvalidMove, match="photos"):
        workflow.answer(db_session, report, actor=officer, now=TUESDAY, outcome=Outcome.FIXED,
                        text="Đã vá")
    workflow.answer(db_session, report, actor=officer, now=TUESDAY, outcome=Outcome.PLANNED,
                    text="Đưa vào kế hoạch sửa đường năm 2027")
    assert report.status == S.RESOLVED and report.outcome == Outcome.PLANNED
    assert report.due_at is None and report.resolved_at == TUESDAY
    assert report.rating_due_at == TUESDAY + timedelta(days=7)


def test_a_fixed_answer_carries_its_proof_photos(db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    photo = Photo(report=report, kind=PhotoKind.ANSWER, original_sha256="0" * 64,
                  original_format="JPEG", original_bytes=1)
    db_session.add(photo)
    event = workflow.answer(db_session, report, actor=officer, now=TUESDAY,
                            outcome=Outcome.FIXED, text="Đã vá xong", photos=[photo])
    assert photo.event_id == event.id


def test_the_citizen_rates_and_the_report_closes(db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    workflow.answer(db_session, report, actor=officer, now=TUESDAY, outcome=Outcome.NO_ACTION,
                    text="Không thuộc quy hoạch")
    with pytest.raises(workflow.NotAllowed):
        workflow.rate(db_session, report, actor=factories.citizen(db_session), now=TUESDAY,
                      rating=Rating.SATISFIED)
    workflow.rate(db_session, report, actor=report.citizen, now=TUESDAY,
                  rating=Rating.ACCEPTABLE, comment="Tạm được")
    assert report.status == S.CLOSED and report.rating == Rating.ACCEPTABLE
    assert report.outcome == Outcome.NO_ACTION  # closed is not fixed: the outcome stays


def test_reopening_sends_the_report_back_to_the_same_department_with_a_new_deadline(db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    workflow.answer(db_session, report, actor=officer, now=TUESDAY, outcome=Outcome.PLANNED,
                    text="Sẽ sửa")
    later = TUESDAY + timedelta(days=2)
    workflow.reopen(db_session, report, actor=report.citizen, now=later, reason="Chưa sửa")
    assert report.status == S.IN_PROGRESS and report.reopen_count == 1
    assert report.lead_department.code == "ct-so-xay-dung"
    assert report.resolve_due_at == later + timedelta(days=7)


def test_reopening_after_the_rating_window_is_refused(db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    workflow.answer(db_session, report, actor=officer, now=TUESDAY, outcome=Outcome.PLANNED,
                    text="Sẽ sửa")
    with pytest.raises(workflow.IllegalMove, match="closed"):
        workflow.reopen(db_session, report, actor=report.citizen,
                        now=TUESDAY + timedelta(days=8), reason="Chưa sửa")


def test_an_extension_is_asked_once_within_the_limit_and_an_approval_moves_the_deadline(
        db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    deadline = report.resolve_due_at
    too_far = deadline + timedelta(days=30)
    with pytest.raises(workflow.InvalidMove):
        workflow.request_extension(db_session, report, actor=officer, now=TUESDAY,
                                   reason="Chờ vật tư", new_due_at=too_far)
    wanted = deadline + timedelta(days=2)
    extension = workflow.request_extension(db_session, report, actor=officer, now=TUESDAY,
                                           reason="Chờ vật tư", new_due_at=wanted)
    with pytest.raises(workflow.IllegalMove, match="once"):
        workflow.request_extension(db_session, report, actor=officer, now=TUESDAY,
                                   reason="Lần nữa", new_due_at=wanted)
    workflow.decide_extension(db_session, extension,
                              actor=factories.staff(db_session, "supervisor"),
                              now=TUESDAY, approve_extension=True)
    assert extension.state == ExtensionState.APPROVED
    assert report.resolve_due_at == wanted == report.due_at
    assert extension.due_at_before == deadline


def test_an_extension_after_the_deadline_is_refused(db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    with pytest.raises(workflow.IllegalMove, match="passed"):
        workflow.request_extension(db_session, report, actor=officer,
                                   now=report.resolve_due_at + timedelta(minutes=1),
                                   reason="Muộn", new_due_at=report.resolve_due_at
                                   + timedelta(days=1))


def test_an_urgent_category_allows_no_extension(db_session):
    report = _approved_and_routed(db_session, category="thien-tai")
    officer = factories.staff(db_session, "officer")
    report.lead_department_id = officer.department_id  # routed by hand to our officer
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    assert report.resolve_due_at == TUESDAY + timedelta(hours=4)  # clock hours
    with pytest.raises(workflow.IllegalMove, match="no extension"):
        workflow.request_extension(db_session, report, actor=officer, now=TUESDAY,
                                   reason="x", new_due_at=TUESDAY + timedelta(hours=5))


def test_changing_the_category_of_a_routed_report_routes_it_again(db_session):
    report = _approved_and_routed(db_session, category="giao-thong")
    electricity = db_session.execute(
        select(Category).where(Category.code == "dien-chieu-sang")).scalar_one()
    workflow.change_category(db_session, report, electricity,
                             actor=factories.staff(db_session, "moderator"), now=TUESDAY)
    assert report.status == S.SUBMITTED and report.lead_department is None
    _route(db_session, report)
    assert report.lead_department.code == "ct-dien-luc"


def _answer_under_review(app, db_session, report, officer):
    """The officer answers with result review on: a supervisor must approve it first."""
    app.config["RESULT_REVIEW"] = True
    try:
        workflow.answer(db_session, report, actor=officer, now=TUESDAY, outcome=Outcome.PLANNED,
                        text="Sẽ sửa")
    finally:
        app.config["RESULT_REVIEW"] = False


def test_with_result_review_the_citizen_sees_the_answer_only_after_a_supervisor_approves(
        app, db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    _answer_under_review(app, db_session, report, officer)
    assert report.status == S.IN_PROGRESS and report.answer_review == ReviewState.PENDING
    workflow.review_answer(db_session, report, actor=factories.staff(db_session, "supervisor"),
                           now=TUESDAY, approve_answer=True)
    assert report.status == S.RESOLVED and report.answer_review == ReviewState.APPROVED


def test_a_refused_answer_tells_the_department_its_answer_was_refused(app, db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    _answer_under_review(app, db_session, report, officer)
    workflow.review_answer(db_session, report, actor=factories.staff(db_session, "supervisor"),
                           now=TUESDAY, approve_answer=False, note="Thiếu thời gian cụ thể.")
    db_session.flush()
    notice = db_session.execute(
        select(Notification).where(Notification.report_id == report.id,
                                   Notification.department_id == report.lead_department_id)
        .order_by(Notification.id.desc())).scalars().first()
    assert notice.kind == "answer_refused"
    assert "gia hạn" not in notice.body.lower() and "Thiếu thời gian cụ thể." in notice.body
    assert report.status == S.IN_PROGRESS and report.answer_review == ReviewState.REFUSED


def test_with_result_review_an_answer_sent_before_acknowledging_takes_the_report_on(
        app, db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    _answer_under_review(app, db_session, report, officer)
    # Its clock is now the resolution's, and the supervisor can review the answer.
    assert report.status == S.IN_PROGRESS and report.resolve_due_at is not None
    workflow.review_answer(db_session, report, actor=factories.staff(db_session, "supervisor"),
                           now=TUESDAY, approve_answer=True)
    assert report.status == S.RESOLVED


def test_every_move_leaves_an_event_with_who_from_and_to(db_session):
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    workflow.answer(db_session, report, actor=officer, now=TUESDAY, outcome=Outcome.PLANNED,
                    text="Sẽ sửa")
    workflow.rate(db_session, report, actor=report.citizen, now=TUESDAY, rating=Rating.SATISFIED)
    moves = [(e.kind, e.from_status, e.to_status, e.actor_role)
             for e in _events(db_session, report)]
    assert moves == [
        ("submitted", None, S.SUBMITTED, None),
        ("approved", None, None, "moderator"),
        ("assigned", S.SUBMITTED, S.ASSIGNED, None),
        ("acknowledged", S.ASSIGNED, S.IN_PROGRESS, "officer"),
        ("resolved", S.IN_PROGRESS, S.RESOLVED, "officer"),
        ("rated", S.RESOLVED, S.CLOSED, "citizen"),
    ]


def _pending_extension(db_session):
    """A report Sở Xây dựng took on and asked more time for: (report, officer, request)."""
    report = _approved_and_routed(db_session)
    officer = factories.staff(db_session, "officer")
    workflow.acknowledge(db_session, report, actor=officer, now=TUESDAY)
    extension = workflow.request_extension(db_session, report, actor=officer, now=TUESDAY,
                                           reason="Chờ vật tư",
                                           new_due_at=report.resolve_due_at + timedelta(days=2))
    return report, officer, extension


def _withdrawn(db_session, report, extension):
    assert extension.state == ExtensionState.WITHDRAWN and extension.decided_at is not None
    event = [e for e in _events(db_session, report) if e.kind == "extension_withdrawn"]
    assert len(event) == 1 and event[0].data["extension_id"] == extension.id
    with pytest.raises(workflow.IllegalMove, match="no longer"):
        workflow.decide_extension(db_session, extension, now=TUESDAY, approve_extension=True,
                                  actor=factories.staff(db_session, "supervisor"))
    assert extension.state == ExtensionState.WITHDRAWN


def test_answering_withdraws_the_departments_pending_extension_request(db_session):
    report, officer, extension = _pending_extension(db_session)
    workflow.answer(db_session, report, actor=officer, now=TUESDAY, outcome=Outcome.PLANNED,
                    text="Đưa vào kế hoạch")
    _withdrawn(db_session, report, extension)


def test_an_answer_waiting_for_review_keeps_the_request_until_it_is_approved(app, db_session):
    report, officer, extension = _pending_extension(db_session)
    _answer_under_review(app, db_session, report, officer)
    assert extension.state == ExtensionState.PENDING
    workflow.review_answer(db_session, report, actor=factories.staff(db_session, "supervisor"),
                           now=TUESDAY, approve_answer=True)
    _withdrawn(db_session, report, extension)


def test_a_returned_report_loses_its_request_and_the_next_department_may_ask_its_own(
        db_session):
    report, officer, extension = _pending_extension(db_session)
    workflow.return_report(db_session, report, actor=officer, now=TUESDAY,
                           reason_code="not_our_competence")
    _withdrawn(db_session, report, extension)
    ward = _department(db_session, "ct-ubnd-31135")
    workflow.route_manually(db_session, report, ward, actor=factories.staff(db_session, "moderator"),
                            now=TUESDAY)
    ward_officer = factories.staff(db_session, "officer.ninhkieu")
    workflow.acknowledge(db_session, report, actor=ward_officer, now=TUESDAY)
    # The old department's request cannot be approved for the new department...
    with pytest.raises(workflow.IllegalMove):
        workflow.decide_extension(db_session, extension, now=TUESDAY, approve_extension=True,
                                  actor=factories.staff(db_session, "supervisor"))
    # ...which asks for time once, on its own.
    own = workflow.request_extension(db_session, report, actor=ward_officer, now=TUESDAY,
                                     reason="Cần phối hợp",
                                     new_due_at=report.resolve_due_at + timedelta(days=1))
    assert own.department_id == ward.id and own.state == ExtensionState.PENDING
    with pytest.raises(workflow.IllegalMove, match="once"):
        workflow.request_extension(db_session, report, actor=ward_officer, now=TUESDAY,
                                   reason="Lần nữa",
                                   new_due_at=report.resolve_due_at + timedelta(days=1))


def _assigned_with_a_pending_request(db_session):
    """A routed, not yet acknowledged report with a pending request of its department
    (as one asked on a report reopened and routed again would be)."""
    from feedback.models import ExtensionRequest

    report = _approved_and_routed(db_session)
    extension = ExtensionRequest(report=report, department_id=report.lead_department.id,
                                 requested_by_id=factories.staff(db_session, "officer").id,
                                 reason="Chờ vật tư", due_at_before=TUESDAY + timedelta(days=5),
                                 requested_due_at=TUESDAY + timedelta(days=7), created_at=TUESDAY)
    db_session.add(extension)
    db_session.flush()
    return report, extension


@pytest.mark.parametrize("move", ["reject", "mark_duplicate", "change_category"])
def test_a_moderators_move_that_takes_the_report_from_its_department_withdraws_the_request(
        db_session, move):
    report, extension = _assigned_with_a_pending_request(db_session)
    moderator = factories.staff(db_session, "moderator")
    if move == "reject":
        workflow.reject(db_session, report, actor=moderator, now=TUESDAY, reason_code="spam")
    elif move == "mark_duplicate":
        original = _approved_and_routed(db_session)
        workflow.mark_duplicate(db_session, report, original, actor=moderator, now=TUESDAY)
    else:
        trees = db_session.execute(select(Category).where(Category.code == "cay-xanh")).scalar_one()
        workflow.change_category(db_session, report, trees, actor=moderator, now=TUESDAY)
    _withdrawn(db_session, report, extension)


def test_asking_the_citizen_keeps_the_request_pending(db_session):
    report, officer, extension = _pending_extension(db_session)
    workflow.request_info(db_session, report, actor=officer, now=TUESDAY, question="Ảnh?")
    assert extension.state == ExtensionState.PENDING
    workflow.decide_extension(db_session, extension, actor=factories.staff(db_session, "supervisor"),
                              now=TUESDAY, approve_extension=False)
    assert extension.state == ExtensionState.REFUSED
    with pytest.raises(workflow.IllegalMove, match="decided already"):
        workflow.decide_extension(db_session, extension, now=TUESDAY, approve_extension=True,
                                  actor=factories.staff(db_session, "supervisor"))


def test_the_supervisors_queue_lists_only_requests_that_can_still_be_decided(db_session):
    from feedback.services import queues

    report, officer, extension = _pending_extension(db_session)
    assert extension in queues.pending_extensions(db_session)
    workflow.return_report(db_session, report, actor=officer, now=TUESDAY,
                           reason_code="not_our_competence")
    assert extension not in queues.pending_extensions(db_session)
