"""Who may see what: province-wide staff everything, an officer what their department
leads or coordinates."""
from feedback.services.access import can_see_report, coordinates
from tests import factories


def test_an_officer_sees_the_reports_their_department_leads_or_coordinates(db_session, now):
    report = factories.routed_report(db_session, now=now, category="cap-thoat-nuoc-ngap")
    assert report.lead_department.code == "ct-cap-thoat-nuoc"
    assert [department.code for department in report.coordinators] == ["ct-so-xay-dung"]
    coordinator = factories.staff(db_session, "officer")  # Sở Xây dựng
    assert can_see_report(coordinator, report)
    assert coordinates(coordinator.department_id, report)
    assert not coordinates(report.lead_department_id, report)
    assert not can_see_report(factories.staff(db_session, "officer.ninhkieu"), report)
    assert can_see_report(factories.staff(db_session, "supervisor"), report)
    assert not can_see_report(report.citizen, report)


def test_an_officer_without_a_department_sees_no_department_work(db_session, now):
    report = factories.routed_report(db_session, now=now)
    officer = factories.staff(db_session, "officer")
    officer.department_id = None
    assert not can_see_report(officer, report)
