"""Test data made through the models, for tests of what comes after intake."""
import itertools
from datetime import datetime, timezone

from sqlalchemy import select

from feedback.models import Area, Category, Report, ReportEvent, ReportStatus, Role, User
from feedback.services import deadlines
from feedback.services.deadlines import Step

_numbers = itertools.count(1)


def citizen(db_session, phone: str | None = None, name: str = "Trần Thị Bé") -> User:
    phone = phone or f"+8491{next(_numbers):07d}"
    user = User(role=Role.CITIZEN, phone=phone, full_name=name)
    db_session.add(user)
    db_session.flush()
    return user


def staff(db_session, username: str) -> User:
    return db_session.execute(select(User).where(User.username == username)).scalar_one()


def report(db_session, *, category: str = "giao-thong", commune: str = "31135",
           sender: User | None = None, now: datetime | None = None, anonymous: bool = False,
           description: str = "Ổ gà lớn trước số 12 đường Hòa Bình") -> Report:
    """A report as intake leaves it: submitted, with its moderation clock running."""
    now = now or datetime.now(timezone.utc)
    area = db_session.get(Area, commune)
    item = Report(
        tracking_code=f"PA-T-{next(_numbers):08d}",
        citizen=sender or citizen(db_session),
        category=db_session.execute(
            select(Category).where(Category.code == category)).scalar_one(),
        description=description, latitude=10.03, longitude=105.78,
        area_code=area.code, province_code=area.province_code, submitted_at=now,
        is_anonymous=anonymous, status=ReportStatus.SUBMITTED,
    )
    db_session.add(item)
    deadlines.start_clock(item, Step.MODERATE, now=now,
                          calendar=deadlines.calendar_for(db_session))
    db_session.add(ReportEvent(report=item, kind="submitted", to_status=ReportStatus.SUBMITTED,
                               created_at=now, is_public=True))
    db_session.flush()
    return item
