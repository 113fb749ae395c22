"""Report intake: a citizen's report and its photos, checked, stored and committed in one
request, and the photo job a worker runs afterwards.

`submit_report` is what POST /api/v1/reports calls. It commits itself, because what
happens around the commit belongs to intake: the citizen hears "received" only after
it, a retry that lost a race to its twin answers the winner, and a refusal leaves
neither a report nor a stored file behind.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

from feedback.extensions import db
from feedback.models import (
    STATUS_LABELS,
    Area,
    AreaLevel,
    Category,
    Photo,
    PhotoKind,
    PhotoState,
    Report,
    ReportEvent,
    ReportSource,
    ReportStatus,
    Role,
    User,
)
from feedback.models.types import utcnow
from feedback.services import notifications, outbox
from feedback.services import photos as pipeline
from feedback.services.deadlines import Step, calendar_for, start_clock
from feedback.services.storage import PhotoNotFound, storage_from_config
from feedback.services.text import nfc

log = logging.getLogger(__name__)

MAX_PHOTOS = 5
TITLE_MAX = 200
DESCRIPTION_MAX = 4000
ADDRESS_MAX = 500
IDEMPOTENCY_KEY_MAX = 100

PROCESS_PHOTO = "feedback.services.intake.process_photo"
PHOTO_QUEUE = "photos"
ROUTE_REPORT = "feedback.services.routing.route_report"
ROUTING_QUEUE = "routing"

# Originals are kept apart from what is shown: a different prefix, never a served key.
ORIGINAL_PREFIX = "original-"
_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "heif": "heic"}

_TOO_MANY = f"too_many: A report takes at most {MAX_PHOTOS} photos."
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,%d}" % IDEMPOTENCY_KEY_MAX)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_TRAILING_SPACES = re.compile(r"[ \t]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


class SubmissionRefused(Exception):
    """The report cannot be taken as sent. `details` maps each field, or `photos[i]`
    (counted from 0), to its problems; `code` says which kind of refusal it is."""

    code = "validation_failed"

    def __init__(self, message: str, details: dict[str, list[str]]):
        super().__init__(message)
        self.message = message
        self.details = details


class PhotosRefused(SubmissionRefused):
    """Only photos are at fault: each problem reads `<code>: <message>`."""

    code = "photo_rejected"


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before by this citizen for a different report."""

    code = "idempotency_conflict"

    def __init__(self, tracking_code: str):
        super().__init__(tracking_code)
        self.tracking_code = tracking_code


@dataclass
class Submission:
    """What the citizen sent, normalised (NFC, trimmed), before the database is asked."""

    category: str
    description: str
    commune_code: str
    title: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    anonymous: bool = False
    public: bool = True
    errors: dict[str, list[str]] = field(default_factory=dict)

    def fingerprint(self, photo_hashes: list[str]) -> str:
        """Tells a true retry from another report sent under a reused key."""
        body = {
            "category": self.category, "title": self.title, "description": self.description,
            "latitude": self.latitude, "longitude": self.longitude, "address": self.address,
            "commune_code": self.commune_code, "anonymous": self.anonymous,
            "public": self.public, "photos": photo_hashes,
        }
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


# -- text --------------------------------------------------------------------------------

def clean_line(value) -> str | None:
    """One line of text: NFC, control characters out, runs of white space as one space."""
    if value is None:
        return None
    text = _SPACES.sub(" ", _CONTROL.sub("", nfc(str(value)))).strip()
    return text or None


def clean_text(value) -> str | None:
    """Free text: NFC, line breaks kept (at most one blank line), control characters out."""
    if value is None:
        return None
    text = nfc(str(value)).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text.replace("\t", " "))
    text = _MANY_BLANK_LINES.sub("\n\n", _TRAILING_SPACES.sub("\n", text)).strip()
    return text or None


def _need_length(errors: dict, name: str, value: str | None, maximum: int) -> None:
    if value is not None and len(value) > maximum:
        errors.setdefault(name, []).append(f"Longer than {maximum} characters.")


def normalise(fields: Mapping) -> Submission:
    """The fields as they will be stored; problems found without the database go to
    `errors` (the category and the commune are checked against the database later)."""
    errors: dict[str, list[str]] = {}
    category = clean_line(fields.get("category"))
    commune_code = clean_line(fields.get("commune_code"))
    description = clean_text(fields.get("description"))
    title = clean_line(fields.get("title"))
    address = clean_line(fields.get("address"))
    for name, value in (("category", category), ("commune_code", commune_code),
                        ("description", description)):
        if value is None:
            errors.setdefault(name, []).append("Missing data for required field.")
    _need_length(errors, "title", title, TITLE_MAX)
    _need_length(errors, "description", description, DESCRIPTION_MAX)
    _need_length(errors, "address", address, ADDRESS_MAX)

    latitude = _coordinate(errors, "latitude", fields.get("latitude"), 90)
    longitude = _coordinate(errors, "longitude", fields.get("longitude"), 180)
    if (latitude is None) != (longitude is None) and not {"latitude", "longitude"} & set(errors):
        missing = "latitude" if latitude is None else "longitude"
        errors[missing] = ["Send latitude and longitude together, or neither."]
    return Submission(
        category=category or "", description=description or "", commune_code=commune_code or "",
        title=title, latitude=latitude, longitude=longitude, address=address,
        anonymous=bool(fields.get("anonymous", False)), public=bool(fields.get("public", True)),
        errors=errors,
    )


def _coordinate(errors: dict, name: str, value, limit: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[name] = ["Not a valid number."]
        return None
    if not -limit <= number <= limit:  # also refuses NaN
        errors[name] = [f"Must be between -{limit:g} and {limit:g}."]
        return None
    return number


def check_idempotency_key(value: str | None) -> str | None:
    """None when absent; the key when it is 1-100 visible ASCII characters; else ValueError."""
    if value is None or value == "":
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise ValueError(f"Use 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters "
                         "(a UUID is a good key).")
    return value


# -- tracking codes ----------------------------------------------------------------------

def tracking_code(report_id: int, submitted_at: datetime, time_zone: str) -> str:
    """PA-YYYY-NNNNNN: the year of submission where the report was made, and the id,
    at least six digits. Unique because the id is; readable aloud."""
    year = submitted_at.astimezone(ZoneInfo(time_zone)).year
    return f"PA-{year}-{report_id:06d}"


# -- photos in the request ---------------------------------------------------------------

def inspect_photos(uploads: list[bytes], config: Mapping) -> list[pipeline.UploadInfo]:
    """The fast check of every photo while the citizen waits; all problems at once."""
    problems: dict[str, list[str]] = {}
    infos = []
    for index, data in enumerate(uploads[:MAX_PHOTOS]):
        try:
            infos.append(pipeline.inspect_upload(
                data, max_bytes=config["PHOTO_MAX_BYTES"], max_pixels=config["PHOTO_MAX_PIXELS"]))
        except pipeline.PhotoRejected as refusal:
            problems[f"photos[{index}]"] = [str(refusal)]
    for index in range(MAX_PHOTOS, len(uploads)):
        problems[f"photos[{index}]"] = [_TOO_MANY]
    if problems:
        raise PhotosRefused("Some photos cannot be taken; nothing was saved.", problems)
    return infos


def original_key(info: pipeline.UploadInfo) -> str:
    return f"{ORIGINAL_PREFIX}{info.sha256}.{_EXTENSIONS[info.type]}"


class StoredOriginals:
    """Originals put in storage by this request, removed again if it fails: intake's
    own, and an answer's proof photos (`store_answer_photos`).

    An original already there (a retry, the same photo in another report) is neither
    written again nor removed."""

    def __init__(self, storage):
        self.storage = storage
        self.created: list[str] = []

    def put(self, key: str, data: bytes, content_type: str) -> None:
        if key in self.created or self.storage.exists(key):
            return
        self.storage.put(key, data, content_type)
        self.created.append(key)

    def discard(self, session: Session) -> None:
        if not self.created:
            return
        try:
            # A concurrent report may have committed the same photo meanwhile.
            kept = set(session.execute(
                select(Photo.original_key).where(Photo.original_key.in_(self.created))
            ).scalars())
            session.rollback()
        except Exception:  # noqa: BLE001 - removing less is safer than removing too much
            log.exception("intake: could not check originals before removing them")
            return
        for key in self.created:
            if key not in kept:
                try:
                    self.storage.delete(key)
                except Exception:  # noqa: BLE001 - an orphan original is shown to no one
                    log.exception("intake: could not remove original %s", key)
        self.created.clear()


def store_answer_photos(session: Session, report: Report, uploads: list[bytes], *,
                        uploader: User, now: datetime, config: Mapping,
                        originals: StoredOriginals) -> list[Photo]:
    """A department's proof photos, through the pipeline the citizens' photos take: checked
    by their bytes (all refused if one is bad), originals stored through `originals`, so
    the caller removes them again if the answer is refused or not committed
    (`originals.discard(session)`), pending rows, and a photo job each after commit."""
    if not uploads:
        return []
    infos = inspect_photos(uploads, config)
    photos = []
    for position, (info, data) in enumerate(zip(infos, uploads, strict=True)):
        key = original_key(info)
        originals.put(key, data, info.content_type)
        photo = Photo(report_id=report.id, kind=PhotoKind.ANSWER, position=position,
                      state=PhotoState.PENDING, uploaded_by_id=uploader.id, original_key=key,
                      original_sha256=info.sha256, original_format=info.type,
                      original_bytes=len(data), created_at=now)
        session.add(photo)
        photos.append(photo)
    session.flush()
    for photo in photos:
        outbox.schedule(session, PROCESS_PHOTO, photo.id, queue=PHOTO_QUEUE,
                        key=f"photo-{photo.id}")
    return photos


# -- the submission ----------------------------------------------------------------------

def submit_report(session: Session, *, citizen: User, fields: Mapping, photos: list[bytes],
                  idempotency_key: str | None, now: datetime, storage,
                  config: Mapping) -> tuple[Report, bool]:
    """Take a citizen's report: answer (report, True) once it is committed, or
    (the earlier report, False) for a retry of one already taken.

    Raises SubmissionRefused (422: fields or photos at fault, nothing kept) or
    IdempotencyConflict (409: the key was used for a different report).
    The returned report's attributes, photos and timeline are loaded; reading them
    costs no query.
    """
    citizen_id = citizen.id
    submission = normalise(fields)
    errors = submission.errors
    if len(photos) > MAX_PHOTOS:
        for index in range(MAX_PHOTOS, len(photos)):
            errors[f"photos[{index}]"] = [_TOO_MANY]

    postgresql = session.get_bind().dialect.name == "postgresql"
    category, area, report_id = _lookup(session, submission, allocate_id=postgresql)
    if submission.category and category is None:
        errors.setdefault("category", []).append(f"No category {submission.category}.")
    elif category is not None and not category.active:
        errors.setdefault("category", []).append(
            f"The category {submission.category} no longer takes reports.")
    elif category is not None and category.photo_required and not photos:
        errors.setdefault("photos", []).append(
            f"The category {category.code} needs at least one photo.")
    if submission.commune_code and (area is None or area.level != AreaLevel.COMMUNE):
        errors.setdefault("commune_code", []).append(
            f"No commune, ward or special zone {submission.commune_code}.")
    if errors:
        only_photos = all(name.startswith("photos[") for name in errors)
        refusal = PhotosRefused if only_photos else SubmissionRefused
        raise refusal("Some fields are not valid; nothing was saved.", errors)

    infos = inspect_photos(photos, config)
    fingerprint = submission.fingerprint([info.sha256 for info in infos])
    originals = StoredOriginals(storage)
    try:
        report = _write(session, submission, category, area, report_id, infos, photos,
                        originals, citizen_id=citizen_id, idempotency_key=idempotency_key,
                        fingerprint=fingerprint, now=now, config=config)
        _commit_keeping_loaded(session)
    except IntegrityError:
        session.rollback()
        originals.discard(session)
        if idempotency_key is None:
            raise
        earlier = _earlier(session, citizen_id, idempotency_key)
        if earlier is None:
            raise
        if earlier.request_fingerprint != fingerprint:
            raise IdempotencyConflict(earlier.tracking_code) from None
        return earlier, False
    except BaseException:
        session.rollback()
        originals.discard(session)
        raise
    return report, True


# The sequence behind reports.id (BIGSERIAL), named inline: a bound parameter would be
# typed text, and nextval() takes a regclass.
_NEXT_REPORT_ID = func.nextval(literal_column(f"'{Report.__tablename__}_id_seq'"))


def _lookup(session: Session, submission: Submission, *, allocate_id: bool):
    """The category, the commune and (on PostgreSQL) the new report's id, in one query."""
    if not submission.category:
        area = session.get(Area, submission.commune_code) if submission.commune_code else None
        return None, area, None
    columns = [Category, Area]
    if allocate_id:
        # The id before the INSERT, so the tracking code goes in with it: one statement.
        columns.append(_NEXT_REPORT_ID)
    row = session.execute(
        select(*columns).select_from(Category)
        .outerjoin(Area, Area.code == submission.commune_code)
        .where(Category.code == submission.category)
    ).first()
    if row is None:
        area = session.get(Area, submission.commune_code) if submission.commune_code else None
        return None, area, None
    return row[0], row[1], (row[2] if allocate_id else None)


def _write(session, submission, category, area, report_id, infos, uploads, originals, *,
           citizen_id, idempotency_key, fingerprint, now, config) -> Report:
    latitude, longitude, from_photo = submission.latitude, submission.longitude, False
    if latitude is None and infos and infos[0].gps is not None:
        latitude, longitude, from_photo = infos[0].gps.lat, infos[0].gps.lon, True

    photo_rows = []
    for position, (info, data) in enumerate(zip(infos, uploads, strict=True)):
        key = original_key(info)
        originals.put(key, data, info.content_type)
        photo_rows.append(Photo(
            kind=PhotoKind.REPORT, position=position, state=PhotoState.PENDING,
            uploaded_by_id=citizen_id, original_key=key, original_sha256=info.sha256,
            original_format=info.type, original_bytes=len(data), created_at=now,
        ))
    event = ReportEvent(
        created_at=now, actor_id=citizen_id, actor_role=str(Role.CITIZEN), kind="submitted",
        to_status=ReportStatus.SUBMITTED, is_public=True,
    )
    time_zone = config["TIME_ZONE"]
    report = Report(
        id=report_id,
        # SQLite: a placeholder until the INSERT gives the id (below).
        tracking_code=(tracking_code(report_id, now, time_zone) if report_id is not None
                       else "tmp-" + secrets.token_hex(8)),
        source=ReportSource.APP, status=ReportStatus.SUBMITTED, citizen_id=citizen_id,
        is_anonymous=submission.anonymous, is_public=submission.public,
        category=category, priority=category.priority,
        title=submission.title, description=submission.description,
        latitude=latitude, longitude=longitude, location_from_photo=from_photo,
        address_text=submission.address, area=area, province_code=area.province_code,
        submitted_at=now, updated_at=now,
        idempotency_key=idempotency_key, request_fingerprint=fingerprint,
        photos=photo_rows, events=[event],
    )
    start_clock(report, Step.MODERATE, now=now, calendar=calendar_for(session, config))
    session.add(report)
    # Notifications and outbox messages name the report by id, not by relationship, so
    # the unit of work would not know to insert the report first.
    session.flush()
    if report_id is None:
        code = tracking_code(report.id, now, time_zone)
        # A plain UPDATE: through the ORM it would also bump the optimistic-lock version.
        session.execute(update(Report).where(Report.id == report.id).values(tracking_code=code))
        set_committed_value(report, "tracking_code", code)

    notifications.notify_citizen(session, report, "received", now=now)
    for photo in photo_rows:
        outbox.schedule(session, PROCESS_PHOTO, photo.id, queue=PHOTO_QUEUE,
                        key=f"photo-{photo.id}")
    if not config.get("PRE_MODERATION", True):
        outbox.schedule(session, ROUTE_REPORT, report.id, queue=ROUTING_QUEUE,
                        key=f"route-{report.id}-0")
    return report


def _commit_keeping_loaded(session: Session) -> None:
    """Commit without expiring what this request just wrote: it is what the database
    now holds, and the answer is made from it without reading it back."""
    real = session.registry() if isinstance(session, scoped_session) else session
    previous = real.expire_on_commit
    real.expire_on_commit = False
    try:
        real.commit()
    finally:
        real.expire_on_commit = previous


def _earlier(session: Session, citizen_id: int, idempotency_key: str) -> Report | None:
    return session.execute(
        select(Report).where(Report.citizen_id == citizen_id,
                             Report.idempotency_key == idempotency_key)
    ).scalar_one_or_none()


# -- likely duplicates, before sending ----------------------------------------------------

NEARBY_RADIUS_M = 250
NEARBY_RESOLVED_DAYS = 30
NEARBY_LIMIT = 20
_EARTH_RADIUS_M = 6_371_008.8
_METRES_PER_DEGREE = math.pi * _EARTH_RADIUS_M / 180
_STILL_OPEN = (ReportStatus.SUBMITTED, ReportStatus.ASSIGNED, ReportStatus.IN_PROGRESS,
               ReportStatus.AWAITING_CITIZEN)
_ANSWERED = (ReportStatus.RESOLVED, ReportStatus.CLOSED)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def nearby_reports(session: Session, *, category_code: str, latitude: float, longitude: float,
                   now: datetime, radius_m: float = NEARBY_RADIUS_M,
                   resolved_days: int = NEARBY_RESOLVED_DAYS,
                   limit: int = NEARBY_LIMIT) -> list[dict]:
    """Open, or recently resolved, public reports of the category within `radius_m`,
    nearest first, with no personal data: for the citizen to follow instead.

    A bounding box on latitude and longitude narrows the rows in SQL, the haversine
    distance in Python decides. (On PostGIS, ST_DWithin on a geography column with a
    GiST index would do both in the database.) The title shows only once a moderator
    has seen the report, so nothing unmoderated reaches other citizens.
    """
    dlat = radius_m / _METRES_PER_DEGREE
    dlon = radius_m / (_METRES_PER_DEGREE * max(math.cos(math.radians(latitude)), 0.01))
    rows = session.execute(
        select(Report.tracking_code, Report.status, Report.title, Report.moderated_at,
               Report.latitude, Report.longitude, Report.submitted_at)
        .join(Category, Category.id == Report.category_id)
        .where(Category.code == category_code,
               Report.latitude.between(latitude - dlat, latitude + dlat),
               Report.longitude.between(longitude - dlon, longitude + dlon),
               Report.is_public.is_(True), Report.is_hidden.is_(False),
               or_(Report.status.in_(_STILL_OPEN),
                   and_(Report.status.in_(_ANSWERED),
                        Report.resolved_at >= now - timedelta(days=resolved_days))))
    ).all()
    found = []
    for row in rows:
        distance = distance_m(latitude, longitude, row.latitude, row.longitude)
        if distance <= radius_m:
            found.append({
                "tracking_code": row.tracking_code, "status": str(row.status),
                "status_label": STATUS_LABELS[row.status], "category": category_code,
                "title": row.title if row.moderated_at is not None else None,
                "distance_m": round(distance), "submitted_at": row.submitted_at,
            })
    found.sort(key=lambda item: (item["distance_m"], item["tracking_code"]))
    return found[:limit]


# -- the photo job -----------------------------------------------------------------------

def photo_storage(app=None):
    """The app's photo storage, built once per app and process (an S3 client is costly)."""
    app = app or current_app._get_current_object()
    storage = app.extensions.get("feedback_photo_storage")
    if storage is None:
        storage = storage_from_config(app.config)
        app.extensions["feedback_photo_storage"] = storage
    return storage


def process_photo(photo_id: int) -> str:
    """Outbox job: make a photo's public copies (upright, stripped of every piece of
    metadata, 1600 px and 320 px JPEGs named by their hash) and mark it ready, or
    failed with the reason. Running it again after it finished changes nothing.

    Only these copies are ever served; until they exist the photo is shown to no one.
    """
    session = db.session
    photo = session.get(Photo, photo_id)
    if photo is None:
        return "no such photo"
    if photo.state != PhotoState.PENDING:
        return f"already {photo.state}"
    now = utcnow()
    storage = photo_storage()
    try:
        data = storage.get(photo.original_key)
    except PhotoNotFound:
        return _fail(photo, "original_missing: The uploaded file is no longer stored.", now)
    try:
        copies = pipeline.process_photo(data, max_pixels=current_app.config["PHOTO_MAX_PIXELS"])
    except pipeline.PhotoRejected as refusal:
        return _fail(photo, str(refusal), now)
    for rendition in (copies.display, copies.thumbnail):
        storage.put(rendition.name, rendition.data, rendition.content_type)
    photo.display_key = copies.display.name
    photo.thumbnail_key = copies.thumbnail.name
    photo.width, photo.height = copies.display.width, copies.display.height
    photo.state = PhotoState.READY
    photo.failure = None
    photo.processed_at = now
    return "ready"


def _fail(photo: Photo, reason: str, now: datetime) -> str:
    photo.state = PhotoState.FAILED
    photo.failure = reason[:200]
    photo.processed_at = now
    log.warning("photo %s failed: %s", photo.id, reason)
    return "failed"


__all__ = [
    "MAX_PHOTOS",
    "IdempotencyConflict",
    "PhotosRefused",
    "Submission",
    "SubmissionRefused",
    "check_idempotency_key",
    "clean_line",
    "clean_text",
    "nearby_reports",
    "normalise",
    "photo_storage",
    "process_photo",
    "submit_report",
    "tracking_code",
]
