"""Every migration upgrades an empty database to head, and the models match it."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from feedback import create_app
from feedback.extensions import db
from tests.conftest import POSTGRES_URL, fresh_postgres_database


def upgrade_empty_database(url: str) -> list:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
            tables = set(inspect(connection).get_table_names())
        db.engine.dispose()
    return diff, tables


@pytest.fixture
def empty_postgresql():
    url = POSTGRES_URL + "_migrations"
    return fresh_postgres_database(url)


def test_an_empty_postgresql_database_upgrades_to_head_with_nothing_left_to_autogenerate(
        empty_postgresql):
    diff, tables = upgrade_empty_database(empty_postgresql)
    assert diff == []
    assert {"reports", "report_events", "photos", "areas", "departments", "routing_rules",
            "categories", "users", "outbox_messages", "notifications"} <= tables


def test_an_empty_sqlite_database_upgrades_to_head_with_nothing_left_to_autogenerate(tmp_path):
    diff, tables = upgrade_empty_database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert diff == []
    assert "reports" in tables


def _state_check(connection) -> str:
    return " ".join(check["sqltext"] for check in
                    inspect(connection).get_check_constraints("extension_requests"))


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_0004_lets_extension_requests_be_withdrawn_and_closes_those_stuck_pending(
        backend, tmp_path):
    """Requests left pending before 0004 by moves that did not close them (an answer, a
    return...) are withdrawn, each with an event; those still decidable are left alone."""
    from sqlalchemy import text

    from feedback.services.areas import import_areas, official_areas
    from feedback.services.demo import load_demo

    url = (fresh_postgres_database(POSTGRES_URL + "_migrations") if backend == "postgresql"
           else f"sqlite:///{tmp_path / 'stuck.sqlite3'}")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    with app.app_context():
        upgrade(revision="0003")
        # Departments, categories and staff go in through the models (their tables do not
        # change in 0004); reports by hand, as 0003 has them.
        import_areas(db.session, official_areas())
        load_demo(db.session)
        db.session.commit()
        with db.engine.begin() as connection:
            assert "withdrawn" not in _state_check(connection)
            ids = dict(connection.execute(text(
                "SELECT code, id FROM departments WHERE code IN ('ct-so-xay-dung', 'ct-ioc')")).all())
            officer = connection.execute(text(
                "SELECT id FROM users WHERE username = 'officer'")).scalar_one()
            category = connection.execute(text(
                "SELECT id FROM categories WHERE code = 'giao-thong'")).scalar_one()
            for number, (status, department) in enumerate(
                    [("resolved", "ct-so-xay-dung"), ("submitted", None),
                     ("in_progress", "ct-ioc"), ("in_progress", "ct-so-xay-dung")], start=1):
                connection.execute(text(
                    "INSERT INTO reports (id, tracking_code, source, status, is_anonymous, "
                    "is_public, is_hidden, category_id, priority, description, "
                    "location_from_photo, reopen_count, submitted_at, updated_at, version, "
                    "lead_department_id) VALUES (:id, :code, 'app', :status, false, true, "
                    "false, :category, 3, 'Ổ gà', false, 0, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, 1, :department)"),
                    {"id": number, "code": f"PA-2026-00000{number}", "status": status,
                     "category": category, "department": ids.get(department)})
                connection.execute(text(
                    "INSERT INTO extension_requests (id, report_id, department_id, "
                    "requested_by_id, reason, due_at_before, requested_due_at, state, "
                    "created_at) VALUES (:id, :id, :department, :officer, 'Chờ vật tư', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'pending', CURRENT_TIMESTAMP)"),
                    {"id": number, "department": ids["ct-so-xay-dung"], "officer": officer})
        upgrade()
        with db.engine.connect() as connection:
            assert "withdrawn" in _state_check(connection)
            states = dict(connection.execute(text(
                "SELECT id, state FROM extension_requests ORDER BY id")).all())
            events = connection.execute(text(
                "SELECT report_id FROM report_events WHERE kind = 'extension_withdrawn' "
                "ORDER BY report_id")).scalars().all()
        db.engine.dispose()
    # Answered; back in moderation; with another department: withdrawn. Still held: pending.
    assert states == {1: "withdrawn", 2: "withdrawn", 3: "withdrawn", 4: "pending"}
    assert events == [1, 2, 3]


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_0005_fills_in_the_working_hours_of_reports_already_answered(backend, tmp_path):
    from sqlalchemy import text

    from feedback.services.areas import import_areas, official_areas
    from feedback.services.demo import load_demo

    url = (fresh_postgres_database(POSTGRES_URL + "_migrations") if backend == "postgresql"
           else f"sqlite:///{tmp_path / 'hours.sqlite3'}")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    with app.app_context():
        upgrade(revision="0004")
        import_areas(db.session, official_areas())
        load_demo(db.session)
        db.session.commit()
        with db.engine.begin() as connection:
            category = connection.execute(text(
                "SELECT id FROM categories WHERE code = 'giao-thong'")).scalar_one()
            # Tuesday 10 March 2026, 09:00 in Cần Thơ; a first answer at 10:30; resolved
            # on Wednesday at 09:00 (times in UTC, as stored).
            for number, (first, resolved) in enumerate(
                    [("2026-03-10 03:30:00", "2026-03-11 02:00:00"), (None, None)], start=1):
                connection.execute(text(
                    "INSERT INTO reports (id, tracking_code, source, status, is_anonymous, "
                    "is_public, is_hidden, category_id, priority, description, "
                    "location_from_photo, reopen_count, submitted_at, updated_at, version, "
                    "assigned_at, first_response_at, resolved_at) VALUES (:id, :code, 'app', "
                    "'resolved', false, true, false, :category, 3, 'Ổ gà', false, 0, "
                    "'2026-03-10 01:00:00', CURRENT_TIMESTAMP, 1, '2026-03-10 02:00:00', "
                    ":first, :resolved)"),
                    {"id": number, "code": f"PA-2026-00000{number}", "category": category,
                     "first": first, "resolved": resolved})
        upgrade()
        with db.engine.connect() as connection:
            hours = connection.execute(text(
                "SELECT first_response_hours, resolution_hours FROM reports ORDER BY id")).all()
        db.engine.dispose()
    # 09:00-10:30; then 09:00-11:30 and 13:00-17:00 on Tuesday, 07:30-09:00 on Wednesday.
    assert [tuple(row) for row in hours] == [(1.5, 8.0), (None, None)]
