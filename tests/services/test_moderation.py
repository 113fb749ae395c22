"""Moderation beside the workflow: personal data edited out, photos blurred or hidden,
merge candidates, a sender's history, and claims on a report held in Redis."""
from datetime import timedelta

import pytest
import redis as redis_client
from sqlalchemy import select

from feedback.models import OutboxMessage, Photo, PhotoKind, PhotoState
from feedback.services import moderation, workflow
from feedback.services.intake import photo_storage
from feedback.services.storage import PhotoNotFound
from tests import factories, samples
from tests.conftest import REDIS_URL


def test_redacting_keeps_the_first_original_and_records_no_text(db_session, now):
    report = factories.report(db_session, now=now, description="Gọi tôi 0912 345 678.")
    moderator = factories.staff(db_session, "moderator")
    event = moderation.redact_description(db_session, report, actor=moderator, now=now,
                                          text="Gọi tôi [đã ẩn].")
    moderation.redact_description(db_session, report, actor=moderator, now=now, text="Gọi tôi.")
    assert report.description == "Gọi tôi."
    assert report.description_original == "Gọi tôi 0912 345 678."
    assert event.kind == "description_edited" and event.note is None and not event.is_public
    assert event.data == {"length_before": 21, "length_after": 16}


def test_redacting_the_title_keeps_its_first_original_too(db_session, now):
    report = factories.report(db_session, now=now, description="Ổ gà trước nhà.")
    report.title = "Nhà anh Tuấn 0912 345 678"
    moderator = factories.staff(db_session, "moderator")
    event = moderation.redact(db_session, report, actor=moderator, now=now,
                              title="Nhà anh [đã ẩn]")
    moderation.redact(db_session, report, actor=moderator, now=now, title="Ổ gà",
                      description="Ổ gà trước một ngôi nhà.")
    assert report.title == "Ổ gà" and report.title_original == "Nhà anh Tuấn 0912 345 678"
    assert report.description_original == "Ổ gà trước nhà."
    assert event.kind == "description_edited" and event.note is None
    assert event.data == {"title_length_before": 25, "title_length_after": 15}
    # A title that is nothing but personal data can go altogether.
    moderation.redact(db_session, report, actor=moderator, now=now, title="")
    assert report.title is None and report.title_original == "Nhà anh Tuấn 0912 345 678"


def test_a_redacted_title_is_refused_when_too_long_or_unchanged(db_session, now):
    report = factories.report(db_session, now=now)
    report.title = "Ổ gà"
    moderator = factories.staff(db_session, "moderator")
    with pytest.raises(workflow.InvalidMove):
        moderation.redact(db_session, report, actor=moderator, now=now, title="x" * 201)
    with pytest.raises(workflow.InvalidMove):
        moderation.redact(db_session, report, actor=moderator, now=now, title=" Ổ gà ",
                          description=report.description)
    assert report.title_original is None


@pytest.mark.parametrize("text", ["", "   ", "Ổ gà lớn trước số 12 đường Hòa Bình"])
def test_redacting_refuses_empty_or_unchanged_text(db_session, now, text):
    report = factories.report(db_session, now=now)
    with pytest.raises(workflow.InvalidMove):
        moderation.redact_description(db_session, report, now=now, text=text,
                                      actor=factories.staff(db_session, "moderator"))


def test_only_moderators_redact_or_hide(db_session, now):
    report = factories.routed_report(db_session, now=now)
    with pytest.raises(workflow.NotAllowed):
        moderation.redact_description(db_session, report, now=now, text="x",
                                      actor=factories.staff(db_session, "officer"))


def test_hiding_and_showing_a_photo_writes_events(db_session, now):
    report = factories.report(db_session, now=now)
    photo = Photo(report=report, kind=PhotoKind.REPORT, state=PhotoState.READY,
                  original_sha256="a" * 64, original_format="jpeg", original_bytes=1)
    db_session.add(photo)
    db_session.flush()
    moderator = factories.staff(db_session, "moderator")
    hidden = moderation.hide_photo(db_session, photo, actor=moderator, now=now, reason="Khuôn mặt")
    assert photo.is_hidden and photo.hidden_by_id == moderator.id and hidden.note == "Khuôn mặt"
    with pytest.raises(workflow.IllegalMove):
        moderation.hide_photo(db_session, photo, actor=moderator, now=now)
    shown = moderation.show_photo(db_session, photo, actor=moderator, now=now)
    assert not photo.is_hidden and shown.data == {"photo_id": photo.id}
    # Who hid it, when and why are the event log's to keep, not the photo's.
    assert (photo.hidden_by_id, photo.hidden_at, photo.hidden_reason) == (None, None, None)
    assert hidden.note == "Khuôn mặt" and hidden.actor_id == moderator.id


def test_blurring_a_region_replaces_the_copies_and_a_job_removes_the_old_files(db_session, now):
    report = factories.report(db_session, now=now)
    photo = factories.stored_photo(db_session, report)
    storage = photo_storage()
    old_display, old_thumbnail = photo.display_key, photo.thumbnail_key
    moderator = factories.staff(db_session, "moderator")

    event = moderation.blur_photo(db_session, photo, actor=moderator, now=now,
                                  region=moderation.check_region(0.4, 0.4, 0.2, 0.2),
                                  storage=storage)

    assert {photo.display_key, photo.thumbnail_key}.isdisjoint({old_display, old_thumbnail})
    face = (420, 320, 580, 430)  # inside the region, on the 1000 x 750 display copy
    assert samples.detail(storage.get(photo.display_key), face) < samples.detail(
        storage.get(old_display), face) / 5
    assert event.kind == "photo_blurred" and event.actor_id == moderator.id
    assert event.data["region"] == {"left": 0.4, "top": 0.4, "width": 0.2, "height": 0.2}
    job = db_session.execute(select(OutboxMessage).where(
        OutboxMessage.job_id == f"remove_replaced_copies-blur-{event.id}")).scalar_one()
    assert job.args == [event.id] and job.queue == "photos"

    assert moderation.remove_replaced_copies(event.id) == 2
    for key in (old_display, old_thumbnail):
        with pytest.raises(PhotoNotFound):
            storage.get(key)
    assert storage.exists(photo.display_key) and storage.exists(photo.thumbnail_key)
    assert moderation.remove_replaced_copies(event.id) == 0  # run twice: nothing more


def test_a_replaced_copy_another_photo_still_shows_is_kept(db_session, now):
    report = factories.report(db_session, now=now)
    photo = factories.stored_photo(db_session, report, seed=1)
    twin = factories.stored_photo(db_session, report, seed=1)  # the same picture sent twice
    storage = photo_storage()
    shared = twin.display_key
    event = moderation.blur_photo(
        db_session, photo, actor=factories.staff(db_session, "moderator"), now=now,
        region=moderation.check_region(0, 0, 1, 0.5), storage=storage)
    assert moderation.remove_replaced_copies(event.id) == 0
    assert storage.exists(shared)


@pytest.mark.parametrize("region", [
    ("x", 0, 0.5, 0.5), (0, 0, 0, 0.5), (0.8, 0, 0.5, 0.5), (-0.1, 0, 0.5, 0.5),
    (0, 0, 0.005, 0.5), ("nan", 0, 0.5, 0.5), (0, 0, 1.5, 1),
])
def test_a_region_outside_the_picture_or_empty_is_refused(region):
    with pytest.raises(workflow.InvalidMove) as refusal:
        moderation.check_region(*region)
    assert refusal.value.reason == "region_invalid"


def test_only_moderators_blur_and_only_photos_whose_copies_are_made(db_session, now):
    report = factories.report(db_session, now=now)
    photo = factories.stored_photo(db_session, report, seed=2)
    region = moderation.check_region(0, 0, 0.5, 0.5)
    with pytest.raises(workflow.NotAllowed):
        moderation.blur_photo(db_session, photo, actor=factories.staff(db_session, "officer"),
                              now=now, region=region, storage=photo_storage())
    photo.state = PhotoState.PENDING
    with pytest.raises(workflow.IllegalMove) as refusal:
        moderation.blur_photo(db_session, photo, actor=factories.staff(db_session, "moderator"),
                              now=now, region=region, storage=photo_storage())
    assert refusal.value.reason == "photo_not_ready"


def test_a_photo_whose_display_copy_is_gone_is_refused_and_left_as_it_was(db_session, now):
    report = factories.report(db_session, now=now)
    photo = factories.stored_photo(db_session, report, seed=3)
    storage = photo_storage()
    storage.delete(photo.display_key)
    display = photo.display_key
    with pytest.raises(workflow.IllegalMove) as refusal:
        moderation.blur_photo(db_session, photo, actor=factories.staff(db_session, "moderator"),
                              now=now, region=moderation.check_region(0, 0, 0.5, 0.5),
                              storage=storage)
    assert refusal.value.reason == "photo_copy_unreadable" and photo.display_key == display


def test_merge_candidates_are_near_of_the_category_and_not_closed_long_ago(db_session, now):
    report = factories.report(db_session, now=now)
    near = factories.routed_report(db_session, now=now - timedelta(hours=2))
    near.latitude += 0.001  # about 110 m
    far = factories.routed_report(db_session, now=now - timedelta(hours=2))
    far.latitude += 0.003  # about 330 m
    other = factories.routed_report(db_session, now=now, category="cay-xanh")
    rejected = factories.report(db_session, now=now)
    workflow.reject(db_session, rejected, actor=factories.staff(db_session, "moderator"),
                    now=now, reason_code="spam")
    old = factories.routed_report(db_session, now=now - timedelta(days=60))
    old.status, old.resolved_at = "closed", now - timedelta(days=45)
    db_session.flush()
    found = moderation.duplicate_candidates(db_session, report, now=now)
    codes = [candidate.report.tracking_code for candidate in found]
    assert near.tracking_code in codes
    for absent in (far, other, rejected, old, report):
        assert absent.tracking_code not in codes
    assert found[0].distance_m <= found[-1].distance_m


def test_a_senders_history(db_session, now):
    sender = factories.citizen(db_session)
    factories.report(db_session, now=now, sender=sender)
    rejected = factories.report(db_session, now=now, sender=sender)
    workflow.reject(db_session, rejected, actor=factories.staff(db_session, "moderator"),
                    now=now, reason_code="spam")
    history = moderation.reporter_history(db_session, [sender.id, None])
    assert history == {sender.id: moderation.History(reports=2, rejected=1)}


@pytest.fixture
def claims(redis):
    return moderation.Claims(redis_client.Redis.from_url(REDIS_URL), ttl=60)


def test_a_claim_is_held_by_one_moderator_until_released(db_session, claims):
    first = factories.staff(db_session, "moderator")
    second = factories.staff(db_session, "admin")
    assert claims.take(7, first).held_by(first)
    held = claims.take(7, second)
    assert held.held_by(first) and held.name == "Kiểm duyệt viên IOC"
    assert claims.blocks(7, second) == held and claims.blocks(7, first) is None
    claims.release(7, second)  # not theirs to release
    assert claims.holder(7).held_by(first)
    claims.release(7, first)
    assert claims.take(7, second).held_by(second)
    assert set(claims.holders([7, 8])) == {7}


def test_a_claim_ends_by_itself(db_session, claims):
    claims.ttl = 1
    moderator = factories.staff(db_session, "moderator")
    claims.take(9, moderator)
    assert claims.connection.ttl(claims._key(9)) <= 1


def test_next_unclaimed_skips_what_others_hold(db_session, claims):
    first = factories.staff(db_session, "moderator")
    second = factories.staff(db_session, "admin")
    claims.take(1, first)
    assert moderation.next_unclaimed(claims, second, [1, 2, 3]) == 2
    assert moderation.next_unclaimed(claims, first, [1, 2, 3]) == 1
    claims.take(3, first)
    assert moderation.next_unclaimed(claims, second, [1, 3]) is None


def test_without_redis_no_one_holds_anything(db_session):
    moderator = factories.staff(db_session, "moderator")
    away = moderation.Claims(redis_client.Redis(port=1, socket_connect_timeout=0.2), ttl=60)
    assert away.take(1, moderator) is None
    assert away.holders([1]) == {} and away.blocks(1, moderator) is None
    away.release(1, moderator)
    assert moderation.Claims(None, ttl=60).take(1, moderator) is None
