"""What moderators do beside the moves of `workflow`: edit personal data out of a report's
text, blur a part of a photo or hide it whole, find the report to merge a duplicate into,
read a reporter's history, and claim a report so that two moderators do not work on the
same one at once.

Like `workflow`, nothing here commits: the caller does, once. Every change writes an
event (who, when, why); nothing is deleted.
"""
import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from feedback.extensions import db
from feedback.models import Photo, PhotoState, Report, ReportEvent, ReportStatus, User
from feedback.services import outbox, routing, workflow
from feedback.services import photos as pipeline
from feedback.services.intake import (
    NEARBY_RADIUS_M,
    NEARBY_RESOLVED_DAYS,
    PHOTO_QUEUE,
    TITLE_MAX,
    clean_line,
    clean_text,
    distance_m,
    photo_storage,
)
from feedback.services.storage import PhotoNotFound
from feedback.services.text import nfc

log = logging.getLogger(__name__)

MODERATORS = workflow.MODERATORS
DESCRIPTION_MAX = 4000
# Reports a duplicate can be merged into: accepted, and not merged themselves.
_OPEN = (ReportStatus.SUBMITTED, ReportStatus.ASSIGNED, ReportStatus.IN_PROGRESS,
         ReportStatus.AWAITING_CITIZEN)
_MERGEABLE = (*_OPEN, ReportStatus.RESOLVED, ReportStatus.CLOSED)
_METRES_PER_DEGREE = math.pi * 6_371_008.8 / 180


def _moderator(actor: User) -> None:
    if actor.role not in MODERATORS:
        raise workflow.NotAllowed(f"Your role ({actor.role}) may not do this.",
                                  reason="moderators_only")


# Personal data ----------------------------------------------------------------------------

_UNCHANGED = object()


def redact(session: Session, report: Report, *, actor: User, now: datetime,
           title=_UNCHANGED, description=_UNCHANGED) -> ReportEvent:
    """Replace the title and/or the text people see with versions that leave out personal
    data. The title is public too; it may be emptied (the report then has none), the
    text may not.

    The citizen's own words are kept once, in `title_original` and `description_original`,
    for admins only; editing again keeps that first original. The event records which
    changed and by how much, never the text itself (it is what was taken out).
    """
    _moderator(actor)
    changes = {}
    if title is not _UNCHANGED:
        cleaned = clean_line(title)
        if cleaned is not None and len(cleaned) > TITLE_MAX:
            raise workflow.InvalidMove(
                f"At most {TITLE_MAX} characters.", reason="too_long",
                params={"field": "title", "maximum": TITLE_MAX},
                details={"title": [f"Longer than {TITLE_MAX}."]})
        if cleaned != report.title:
            changes["title"] = cleaned
    if description is not _UNCHANGED:
        cleaned = clean_text(description)
        if cleaned is None:
            raise workflow.InvalidMove(
                "The text cannot be empty.", reason="text_required",
                details={"description": ["Missing data for required field."]})
        if len(cleaned) > DESCRIPTION_MAX:
            raise workflow.InvalidMove(
                f"At most {DESCRIPTION_MAX} characters.", reason="too_long",
                params={"field": "description", "maximum": DESCRIPTION_MAX},
                details={"description": [f"Longer than {DESCRIPTION_MAX}."]})
        if cleaned != report.description:
            changes["description"] = cleaned
    if not changes:
        field = "description" if description is not _UNCHANGED else "title"
        raise workflow.InvalidMove("The text is unchanged.", reason="text_unchanged",
                                   details={field: ["Unchanged."]})
    data = {}
    if "title" in changes:
        if report.title_original is None:
            report.title_original = report.title
        data.update(title_length_before=len(report.title or ""),
                    title_length_after=len(changes["title"] or ""))
        report.title = changes["title"]
    if "description" in changes:
        if report.description_original is None:
            report.description_original = report.description
        data.update(length_before=len(report.description),
                    length_after=len(changes["description"]))
        report.description = changes["description"]
    report.updated_at = now
    return workflow.record(session, report, "description_edited", actor=actor, now=now,
                           reason_code="personal_data", data=data)


def redact_description(session: Session, report: Report, *, actor: User, now: datetime,
                       text: str) -> ReportEvent:
    """`redact` of the text alone."""
    return redact(session, report, actor=actor, now=now, description=text)


def photo_of(session: Session, report: Report, photo_id: int) -> Photo | None:
    """The report's photo with this id; None for no photo, or another report's."""
    photo = session.get(Photo, photo_id)
    return photo if photo is not None and photo.report_id == report.id else None


def hide_photo(session: Session, photo: Photo, *, actor: User, now: datetime,
               reason: str | None = None) -> ReportEvent:
    """Hide a photo from everyone but moderators and admins (a face, a number plate...)."""
    _moderator(actor)
    if photo.is_hidden:
        raise workflow.IllegalMove("This photo is hidden already.", reason="photo_hidden_already")
    photo.is_hidden = True
    photo.hidden_by_id = actor.id
    photo.hidden_at = now
    photo.hidden_reason = nfc(reason.strip())[:300] if reason and reason.strip() else None
    report = photo.report
    report.updated_at = now  # bumps the report's version: others' open forms are stale
    return workflow.record(session, report, "photo_hidden", actor=actor, now=now,
                           note=photo.hidden_reason, data={"photo_id": photo.id})


# The smallest region worth blurring, as a fraction of the picture's side: 1 % of a
# 1600 px display copy is 16 px.
MIN_REGION = 0.01
REMOVE_REPLACED_COPIES = "feedback.services.moderation.remove_replaced_copies"


def check_region(left, top, width, height) -> pipeline.Region:
    """A region from a form (fractions of the picture, from its top left), or InvalidMove."""
    try:
        region = pipeline.Region(*(float(value) for value in (left, top, width, height)))
    except (TypeError, ValueError):
        raise workflow.InvalidMove("Give the region as four numbers.",
                                   reason="region_invalid") from None
    inside = all(0 <= value <= 1 for value in region)  # also refuses NaN
    if (not inside or region.width < MIN_REGION or region.height < MIN_REGION
            or region.left + region.width > 1 + 1e-9 or region.top + region.height > 1 + 1e-9):
        raise workflow.InvalidMove("The region must lie inside the picture and not be empty.",
                                   reason="region_invalid")
    return region


def blur_photo(session: Session, photo: Photo, *, actor: User, now: datetime,
               region: pipeline.Region, storage) -> ReportEvent:
    """Blur a part of a photo (a face, a number plate) for everyone: its display copy and
    thumbnail are made again with the region unrecognisable, under new names, so the
    old copies are served by no URL from the commit on; a job removes their files after
    it. The original (admins only) keeps it, until its retention period ends."""
    _moderator(actor)
    if photo.state != PhotoState.READY:
        raise workflow.IllegalMove("The photo's copies are not made yet.",
                                   reason="photo_not_ready")
    try:
        copies = pipeline.blur_regions(storage.get(photo.display_key), [region])
    except (PhotoNotFound, pipeline.PhotoRejected):
        raise workflow.IllegalMove("The photo's display copy cannot be read.",
                                   reason="photo_copy_unreadable") from None
    for rendition in (copies.display, copies.thumbnail):
        storage.put(rendition.name, rendition.data, rendition.content_type)
    replaced = [photo.display_key, photo.thumbnail_key]
    photo.display_key, photo.thumbnail_key = copies.display.name, copies.thumbnail.name
    report = photo.report
    report.updated_at = now  # bumps the report's version: others' open forms are stale
    event = workflow.record(session, report, "photo_blurred", actor=actor, now=now,
                            data={"photo_id": photo.id, "region": region._asdict(),
                                  "replaced": replaced})
    session.flush()
    outbox.schedule(session, REMOVE_REPLACED_COPIES, event.id, queue=PHOTO_QUEUE,
                    key=f"blur-{event.id}")
    return event


def remove_replaced_copies(event_id: int) -> int:
    """Outbox job: delete the copies a blur replaced, unless a photo still uses one (the
    same picture sent twice has the same copies). Running it twice deletes nothing more."""
    session = db.session
    event = session.get(ReportEvent, event_id)
    if event is None or event.kind != "photo_blurred":
        return 0
    keys = set(event.data["replaced"])
    in_use = set(session.execute(
        select(Photo.display_key).where(Photo.display_key.in_(keys))).scalars())
    in_use |= set(session.execute(
        select(Photo.thumbnail_key).where(Photo.thumbnail_key.in_(keys))).scalars())
    storage = photo_storage()
    removed = 0
    for key in sorted(keys - in_use):
        if storage.exists(key):
            storage.delete(key)
            removed += 1
    return removed


def show_photo(session: Session, photo: Photo, *, actor: User, now: datetime) -> ReportEvent:
    """Show a hidden photo again."""
    _moderator(actor)
    if not photo.is_hidden:
        raise workflow.IllegalMove("This photo is not hidden.", reason="photo_not_hidden")
    photo.is_hidden = False
    # Who hid it, when and why stay in the photo_hidden event; the photo keeps only
    # what is true now, so a later hide starts clean.
    photo.hidden_by_id = None
    photo.hidden_at = None
    photo.hidden_reason = None
    report = photo.report
    report.updated_at = now
    return workflow.record(session, report, "photo_shown", actor=actor, now=now,
                           data={"photo_id": photo.id})


# What a moderator needs to decide ---------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    report: Report
    distance_m: int


def duplicate_candidates(session: Session, report: Report, *, now: datetime,
                         radius_m: float = NEARBY_RADIUS_M, limit: int = 10) -> list[Candidate]:
    """Reports of the same category within `radius_m` that the report could be merged
    into, nearest first: open ones, and ones answered in the last 30 days (as the
    citizens' nearby search); public or not, hidden or not, since moderators see all."""
    if report.latitude is None or report.longitude is None:
        return []
    answered_since = now - timedelta(days=NEARBY_RESOLVED_DAYS)
    dlat = radius_m / _METRES_PER_DEGREE
    dlon = radius_m / (_METRES_PER_DEGREE * max(math.cos(math.radians(report.latitude)), 0.01))
    rows = session.execute(
        select(Report)
        .where(Report.category_id == report.category_id, Report.id != report.id,
               Report.status.in_(_MERGEABLE),
               or_(Report.status.in_(_OPEN), Report.resolved_at >= answered_since),
               Report.latitude.between(report.latitude - dlat, report.latitude + dlat),
               Report.longitude.between(report.longitude - dlon, report.longitude + dlon))
        .order_by(Report.submitted_at.desc())
        .limit(200)
    ).scalars().all()
    found = []
    for row in rows:
        distance = distance_m(report.latitude, report.longitude, row.latitude, row.longitude)
        if distance <= radius_m:
            found.append(Candidate(row, round(distance)))
    found.sort(key=lambda candidate: (candidate.distance_m, candidate.report.id))
    return found[:limit]


@dataclass(frozen=True)
class History:
    reports: int
    rejected: int


def reporter_history(session: Session, citizen_ids) -> dict[int, History]:
    """For each citizen: how many reports they sent, and how many were rejected."""
    ids = sorted({citizen_id for citizen_id in citizen_ids if citizen_id is not None})
    if not ids:
        return {}
    rows = session.execute(
        select(Report.citizen_id, func.count(),
               func.sum(case((Report.status == ReportStatus.REJECTED, 1), else_=0)))
        .where(Report.citizen_id.in_(ids)).group_by(Report.citizen_id)
    ).all()
    return {citizen_id: History(total, int(rejected or 0)) for citizen_id, total, rejected in rows}


def rule_suggestion(session: Session, report: Report):
    """The routing rule that would route the report now (None: manual routing)."""
    rule = routing.find_rule(session, report.category_id, report.area_code, report.province_code)
    if rule is None or not rule.department.active:
        return None
    return rule


# Claims -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    user_id: int
    name: str
    until: datetime

    def held_by(self, user: User) -> bool:
        return self.user_id == user.id


_RELEASE = """
local value = redis.call('GET', KEYS[1])
if value and cjson.decode(value)['user_id'] == tonumber(ARGV[1]) then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Claims:
    """Who is working on which report, for a short while, kept in Redis with a TTL.

    Opening a report claims it for `ttl` seconds (renewed while its holder works);
    others see who holds it and cannot act on it until the claim ends or is released.
    Claims are advice for people; correctness does not depend on them: every move also
    checks the report's version, so a stale form never overwrites another's work. If
    Redis is away, no one holds anything and the version check alone protects.
    """

    PREFIX = "phananh:claim:report:"

    def __init__(self, connection: Redis | None, ttl: int):
        self.connection = connection
        self.ttl = ttl

    def _key(self, report_id: int) -> str:
        return f"{self.PREFIX}{report_id}"

    @staticmethod
    def _decode(raw) -> Claim | None:
        if not raw:
            return None
        data = json.loads(raw)
        return Claim(data["user_id"], data["name"],
                     datetime.fromisoformat(data["until"]))

    def take(self, report_id: int, user: User, *, now: datetime | None = None) -> Claim | None:
        """Claim the report for `user` (or renew their claim); answer the claim in force,
        which is someone else's when they hold it. None when Redis is away."""
        if self.connection is None:
            return None
        now = now or datetime.now(timezone.utc)
        mine = Claim(user.id, user.full_name or user.username or str(user.id),
                     now + timedelta(seconds=self.ttl))
        value = json.dumps({"user_id": mine.user_id, "name": mine.name,
                            "until": mine.until.isoformat()})
        key = self._key(report_id)
        try:
            if self.connection.set(key, value, nx=True, ex=self.ttl):
                return mine
            current = self._decode(self.connection.get(key))
            if current is None:  # expired in between: try once more
                return mine if self.connection.set(key, value, nx=True, ex=self.ttl) else None
            if current.held_by(user):
                self.connection.set(key, value, xx=True, ex=self.ttl)
                return mine
            return current
        except RedisError as exc:
            log.warning("claims: Redis unavailable, no claim taken: %s", exc)
            return None

    def holders(self, report_ids) -> dict[int, Claim]:
        """The claims in force on these reports."""
        ids = list(report_ids)
        if self.connection is None or not ids:
            return {}
        try:
            values = self.connection.mget([self._key(report_id) for report_id in ids])
        except RedisError as exc:
            log.warning("claims: Redis unavailable: %s", exc)
            return {}
        return {report_id: claim for report_id, claim in
                zip(ids, (self._decode(value) for value in values)) if claim is not None}

    def holder(self, report_id: int) -> Claim | None:
        return self.holders([report_id]).get(report_id)

    def blocks(self, report_id: int, user: User) -> Claim | None:
        """Someone else's claim that stops `user` from acting, or None."""
        claim = self.holder(report_id)
        return claim if claim is not None and not claim.held_by(user) else None

    def release(self, report_id: int, user: User) -> None:
        """Let go of one's own claim (after a move, or on leaving the report)."""
        if self.connection is None:
            return
        try:
            self.connection.eval(_RELEASE, 1, self._key(report_id), user.id)
        except RedisError as exc:
            log.warning("claims: Redis unavailable, claim left to expire: %s", exc)


def next_unclaimed(claims: Claims, user: User, queue_ids: list[int]) -> int | None:
    """The first report of the queue (in its order) that no one else holds, claimed for
    `user`; None when every report is taken."""
    for report_id in queue_ids:
        claim = claims.take(report_id, user)
        if claim is None or claim.held_by(user):
            return report_id
    return None


__all__ = ["Candidate", "Claim", "Claims", "History", "blur_photo", "check_region",
           "duplicate_candidates", "hide_photo", "photo_of", "remove_replaced_copies",
           "next_unclaimed", "redact", "redact_description", "reporter_history", "rule_suggestion",
           "show_photo"]
