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


def routed_report(db_session, *, now: datetime, category: str = "giao-thong",
                  commune: str = "31135", **kwargs) -> Report:
    """A report submitted, approved and routed by its rules at `now`: its time to
    acknowledge runs."""
    from feedback.services import routing, workflow

    item = report(db_session, now=now, category=category, commune=commune, **kwargs)
    workflow.approve(db_session, item, actor=staff(db_session, "moderator"), now=now)
    routing.route(db_session, item, now=now)
    db_session.flush()
    return item


def acknowledged_report(db_session, *, now: datetime, acknowledged_at: datetime | None = None,
                        officer: str = "officer", category: str = "giao-thong",
                        commune: str = "31135", **kwargs) -> Report:
    """A report routed at `now` and acknowledged by `officer` at `acknowledged_at` (default
    `now`): its time to resolve runs. The officer's department must be the one routed to."""
    from feedback.services import workflow

    item = routed_report(db_session, now=now, category=category, commune=commune, **kwargs)
    workflow.acknowledge(db_session, item, actor=staff(db_session, officer),
                         now=acknowledged_at or now)
    return item


# -- public pages and Open311 ---------------------------------------------------------------

def ready_photo(db_session, report: Report, *, kind: str = "report", position: int = 0,
                hidden: bool = False, event_id: int | None = None):
    """A photo as the photo job leaves it: public copies made (their keys only)."""
    import hashlib

    from feedback.models import Photo, PhotoKind, PhotoState

    seed = hashlib.sha256(f"{report.id}-{kind}-{position}-{next(_numbers)}".encode()).hexdigest()
    photo = Photo(report_id=report.id, kind=PhotoKind(kind), position=position,
                  state=PhotoState.READY, original_key=f"original-{seed}.jpg",
                  original_sha256=seed, original_format="jpeg", original_bytes=1000,
                  display_key=f"{hashlib.sha256(seed.encode()).hexdigest()}.jpg",
                  thumbnail_key=f"{hashlib.sha256(seed.encode() + b't').hexdigest()}.jpg",
                  width=1600, height=1200, is_hidden=hidden, event_id=event_id)
    db_session.add(photo)
    db_session.flush()
    return photo


def stored_photo(db_session, report: Report, *, seed: int = 0):
    """A ready photo whose copies are in the app's storage, made by the photo pipeline from
    a 1000 x 750 picture of random pixels (as much detail as a face has, and more), the
    same for the same seed."""
    import hashlib
    import io
    import random

    from PIL import Image

    from feedback.models import Photo, PhotoKind, PhotoState
    from feedback.services import photos
    from feedback.services.intake import photo_storage

    picture = Image.frombytes("RGB", (1000, 750), random.Random(seed).randbytes(1000 * 750 * 3))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    copies = photos.process_photo(out.getvalue())
    storage = photo_storage()
    for rendition in (copies.display, copies.thumbnail):
        storage.put(rendition.name, rendition.data, rendition.content_type)
    photo = Photo(report_id=report.id, kind=PhotoKind.REPORT, state=PhotoState.READY,
                  original_sha256=hashlib.sha256(out.getvalue()).hexdigest(), original_format="jpeg",
                  original_bytes=len(out.getvalue()), display_key=copies.display.name,
                  thumbnail_key=copies.thumbnail.name, width=copies.display.width,
                  height=copies.display.height)
    db_session.add(photo)
    db_session.flush()
    return photo


def resolved_report(db_session, *, now: datetime, outcome: str = "planned",
                    text: str = "Đã đưa vào kế hoạch sửa chữa quý 2", answer_photos: int = 0,
                    **kwargs) -> Report:
    """A report acknowledged and answered by Sở Xây dựng at `now`."""
    from feedback.models import Outcome
    from feedback.services import workflow

    item = acknowledged_report(db_session, now=now, **kwargs)
    photos = [ready_photo(db_session, item, kind="answer", position=i)
              for i in range(answer_photos)]
    workflow.answer(db_session, item, actor=staff(db_session, "officer"), now=now,
                    outcome=Outcome(outcome), text=text, photos=photos)
    db_session.flush()
    return item


def api_client(db_session, name: str = "Ứng dụng đối tác"):
    """(client, key): an Open311 client with a working key."""
    from feedback.services import api_clients

    issued = api_clients.issue_key(db_session, name=name, now=datetime.now(timezone.utc))
    return issued.client, issued.key
