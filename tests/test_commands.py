import pytest
from sqlalchemy import select

from feedback.models import Role, User


@pytest.mark.embedded
def test_users_create_makes_an_officer_of_a_department_who_can_sign_in(runner, client):
    result = runner.invoke(args=["users", "create", "Lan.Tran", "--role", "officer",
                                 "--department", "ct-dien-luc", "--password", "mat-khau-2026"])
    assert result.exit_code == 0, result.output
    response = client.post("/api/v1/auth/login",
                           json={"username": "lan.tran", "password": "mat-khau-2026"})
    assert response.status_code == 200
    assert response.json["user"]["department_code"] == "ct-dien-luc"


@pytest.mark.parametrize("args,message", [
    (["lonely", "--role", "officer"], "department"),
    (["someone", "--role", "officer", "--department", "nope"], "no department"),
    (["moderator", "--role", "moderator"], "exists already"),
    (["someone", "--role", "citizen"], "phone number"),
    (["someone", "--role", "admin", "--password", "short"], "at least 8"),
])
def test_users_create_refuses_what_cannot_work_and_creates_nothing(runner, db_session, args,
                                                                   message):
    before = db_session.execute(select(User.id)).scalars().all()
    password = [] if "--password" in args else ["--password", "long-enough-1"]
    result = runner.invoke(args=["users", "create", *args, *password])
    assert result.exit_code != 0
    assert message in result.output
    assert db_session.execute(select(User.id)).scalars().all() == before


def test_areas_import_reports_that_nothing_changed_the_second_time(runner):
    result = runner.invoke(args=["areas", "import"])
    assert result.exit_code == 0
    assert "0 added, 0 updated, 3355 unchanged" in result.output


def test_demo_load_prints_credentials_for_every_staff_role(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    for role in ("admin", "moderator", "supervisor", "officer"):
        assert f"username={role}" in result.output
    assert "password=officer-demo-2026" in result.output


def test_demo_load_refuses_production_unless_asked(app, runner):
    app.config["ENVIRONMENT"] = "production"
    try:
        result = runner.invoke(args=["demo", "load"])
    finally:
        app.config["ENVIRONMENT"] = "development"
    assert result.exit_code != 0
    assert "production" in result.output


def test_the_created_user_role_is_stored(runner, db_session):
    runner.invoke(args=["users", "create", "sup2", "--role", "supervisor",
                        "--password", "long-enough-1"])
    user = db_session.execute(select(User).where(User.username == "sup2")).scalar_one()
    assert user.role == Role.SUPERVISOR


def test_demo_activity_fills_an_empty_database_once(runner, db_session):
    from feedback.models import Report, ReportStatus

    first = runner.invoke(args=["demo", "activity"])
    assert first.exit_code == 0, first.output
    statuses = set(db_session.execute(select(Report.status)).scalars())
    assert {ReportStatus.SUBMITTED, ReportStatus.IN_PROGRESS, ReportStatus.CLOSED} <= statuses
    count = len(db_session.execute(select(Report.id)).all())

    again = runner.invoke(args=["demo", "activity"])
    assert again.exit_code == 0 and "nothing added" in again.output
    assert len(db_session.execute(select(Report.id)).all()) == count
