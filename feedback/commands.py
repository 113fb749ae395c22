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


def init_app(app):
    for group in (areas_cli, demo_cli, users_cli):
        app.cli.add_command(group)
