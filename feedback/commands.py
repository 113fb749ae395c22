"""`flask` commands for setup and operations: areas, the demo province, users."""
import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from feedback.extensions import db
from feedback.models import STAFF_ROLES, Department, Role, User
from feedback.services.areas import import_areas, official_areas
from feedback.services.auth import create_user
from feedback.services.demo import DEMO_CITIZEN_PHONE, DemoError, load_demo

areas_cli = AppGroup("areas", help="Vietnam's provinces and communes.")
demo_cli = AppGroup("demo", help="The demo province (Cần Thơ).")
users_cli = AppGroup("users", help="Staff and citizen accounts.")
jobs_cli = AppGroup("jobs", help="Background jobs (RQ) and the outbox.")
reports_cli = AppGroup("reports", help="Checks on reports.")


@areas_cli.command("import")
def import_areas_command():
    """Import the 34 provinces and 3,321 communes from the vietnam-provinces package."""
    rows = official_areas()
    with click.progressbar(length=len(rows), label="Đơn vị hành chính") as bar:
        counts = import_areas(db.session, rows, progress=bar.update)
    db.session.commit()
    click.echo(f"areas: {counts['added']} added, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged")


@demo_cli.command("load")
@click.option("--allow-production", is_flag=True,
              help="Load demo users with known passwords even in production.")
def load_demo_command(allow_production):
    """Load the demo province: departments, categories, routing rules, one user per role."""
    if current_app.config["ENVIRONMENT"] == "production" and not allow_production:
        raise click.ClickException("refusing to create demo users with known passwords in "
                                   "production (pass --allow-production if you mean it)")
    try:
        users = load_demo(db.session)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo("Demo province loaded: Thành phố Cần Thơ. Staff sign-in (POST /api/v1/auth/login):")
    for user in users:
        where = f" ({user.department_code})" if user.department_code else ""
        click.echo(f"  {user.role:<10} username={user.username:<18} password={user.password}{where}")
    click.echo(f"  citizen    phone={DEMO_CITIZEN_PHONE} (signs in with a one-time SMS code)")


@demo_cli.command("activity")
@click.option("--force", is_flag=True, help="Add activity even if there are reports already.")
def load_demo_activity_command(force):
    """Five weeks of made-up reports in the demo province, through the real moves and
    photo pipeline: answered, late, rated, open, overdue, to moderate, to route by hand.
    Only into a database without reports, unless --force (loading again adds more)."""
    from datetime import datetime, timezone

    from sqlalchemy import exists, select

    from feedback.models import Report
    from feedback.services.demo_activity import load_demo_activity
    from feedback.services.intake import photo_storage

    if current_app.config["ENVIRONMENT"] == "production":
        raise click.ClickException("refusing to make up reports in production")
    if not force and db.session.execute(select(exists().where(Report.id.is_not(None)))).scalar():
        click.echo("demo activity: there are reports already; nothing added (--force adds more)")
        return
    counts = load_demo_activity(db.session, now=datetime.now(timezone.utc),
                                storage=photo_storage(), config=current_app.config)
    db.session.commit()
    click.echo("demo activity: " + ", ".join(f"{name} {count}" for name, count in counts.items()))


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([str(role) for role in Role]))
@click.option("--department", "department_code", help="Department code (officers need one).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--full-name", default=None)
def create_user_command(username, role, department_code, password, full_name):
    """Create a staff user who signs in with USERNAME and a password."""
    role = Role(role)
    if role not in STAFF_ROLES:
        raise click.ClickException("citizens sign up in the app with their phone number")
    department = None
    if department_code:
        department = db.session.execute(
            select(Department).where(Department.code == department_code)
        ).scalar_one_or_none()
        if department is None:
            raise click.ClickException(f"no department with code {department_code!r}")
    if db.session.execute(
        select(User.id).where(User.username == username.strip().lower())
    ).first():
        raise click.ClickException(f"a user named {username!r} exists already")
    try:
        user = create_user(db.session, role=role, username=username, password=password,
                           full_name=full_name, department=department)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {user.role} {user.username} (id {user.id})")


@jobs_cli.command("requeue-failed")
@click.option("--queue", "queue_names", multiple=True, help="Only these queues.")
def requeue_failed_command(queue_names):
    """Run failed jobs again (they are idempotent: work already done is not redone)."""
    from rq import Queue
    from rq.registry import FailedJobRegistry

    from feedback.redis import redis_connection
    from workers import queues

    connection = redis_connection(current_app._get_current_object())
    total = 0
    for name in queue_names or queues.ALL:
        registry = FailedJobRegistry(queue=Queue(name, connection=connection))
        for job_id in registry.get_job_ids():
            registry.requeue(job_id)
            total += 1
        click.echo(f"{name}: {registry.count} still failed")
    click.echo(f"requeued {total} job(s)")


@reports_cli.command("check-routed")
@click.option("--older-than", "minutes", default=10, show_default=True,
              help="Minutes after which accepted work should have been done.")
def check_routed_command(minutes):
    """Every accepted report routed (or waiting for a moderator), every outbox message
    done: lists what is not, and exits 1 if anything is."""
    from datetime import datetime, timedelta, timezone

    from feedback.models import OutboxMessage, Report, ReportStatus

    cutoff = datetime.now(timezone.utc) - timedelta(minutes=minutes)
    accepted = (Report.moderated_at.is_not(None) if current_app.config["PRE_MODERATION"]
                else Report.submitted_at.is_not(None))
    unrouted = db.session.execute(
        select(Report.tracking_code).where(
            Report.status == ReportStatus.SUBMITTED, accepted, Report.manual_routing.is_(None),
            Report.lead_department_id.is_(None), Report.submitted_at < cutoff)
        .order_by(Report.id).limit(1000)
    ).scalars().all()
    stuck = db.session.execute(
        select(OutboxMessage.job_id).where(OutboxMessage.completed_at.is_(None),
                                           OutboxMessage.created_at < cutoff)
        .order_by(OutboxMessage.id).limit(1000)
    ).scalars().all()
    for code in unrouted:
        click.echo(f"not routed: {code}")
    for job_id in stuck:
        click.echo(f"not done: {job_id}")
    click.echo(f"{len(unrouted)} accepted report(s) not routed, {len(stuck)} job(s) not done")
    if unrouted or stuck:
        raise SystemExit(1)


def init_app(app):
    from feedback.services import sweep

    for group in (areas_cli, demo_cli, users_cli, jobs_cli, reports_cli):
        app.cli.add_command(group)
    sweep.init_app(app)
