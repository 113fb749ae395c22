"""Moderators hide, show and blur a report's photos over the API; staff read the photos
they may see in the report's staff view."""
from tests import factories, samples


def _staff_photos(client, auth_header, report, role):
    response = client.get(f"/api/v1/staff/reports/{report.tracking_code}",
                          headers=auth_header(role))
    assert response.status_code == 200, response.json
    return response.json["photos"]


def test_staff_read_the_photos_a_hidden_one_for_moderators_only(
        client, db_session, auth_header, now):
    report = factories.routed_report(db_session, now=now)
    shown = factories.ready_photo(db_session, report)
    hidden = factories.ready_photo(db_session, report, position=1, hidden=True)
    factories.ready_photo(db_session, report, kind="answer", position=0)  # not the citizen's

    officer = _staff_photos(client, auth_header, report, "officer")
    assert [photo["id"] for photo in officer] == [shown.id]
    assert officer[0]["display_url"] == f"/api/v1/photos/{shown.id}/{shown.display_key}"
    moderator = _staff_photos(client, auth_header, report, "moderator")
    assert [(photo["id"], photo["hidden"]) for photo in moderator] == [
        (shown.id, False), (hidden.id, True)]
    assert moderator[1]["display_url"] is None and moderator[1]["thumbnail_url"] is None


def test_a_moderator_hides_and_shows_a_photo(client, db_session, auth_header, now):
    report = factories.routed_report(db_session, now=now)
    photo = factories.ready_photo(db_session, report)
    base = f"/api/v1/reports/{report.tracking_code}/photos/{photo.id}"
    response = client.post(f"{base}/hide", json={"reason": "Khuôn mặt người đi đường"},
                           headers=auth_header("moderator"))
    assert response.status_code == 200, response.json
    assert response.json["photos"][0]["hidden"] is True
    assert photo.is_hidden and photo.hidden_reason == "Khuôn mặt người đi đường"
    assert _staff_photos(client, auth_header, report, "officer") == []
    again = client.post(f"{base}/hide", json={}, headers=auth_header("moderator"))
    assert again.status_code == 409 and again.json["code"] == "illegal_move"
    response = client.post(f"{base}/show", headers=auth_header("moderator"))
    assert response.status_code == 200 and not photo.is_hidden


def test_a_moderator_blurs_a_region_and_the_old_urls_serve_nothing(
        client, db_session, auth_header, now):
    report = factories.routed_report(db_session, now=now)
    photo = factories.stored_photo(db_session, report, seed=11)
    old_url = f"/api/v1/photos/{photo.id}/{photo.display_key}"
    response = client.post(f"/api/v1/reports/{report.tracking_code}/photos/{photo.id}/blur",
                           json={"left": 0.4, "top": 0.4, "width": 0.2, "height": 0.2},
                           headers=auth_header("moderator"))
    assert response.status_code == 200, response.json
    new_url = response.json["photos"][0]["display_url"]
    assert new_url != old_url and client.get(old_url).status_code == 404
    served = client.get(new_url)
    assert served.status_code == 200
    face = (420, 320, 580, 430)  # inside the region of the 1000 x 750 copy
    assert samples.detail(served.data, face) < 30
    assert [event["kind"] for event in response.json["events"]][-1] == "photo_blurred"


def test_blurring_refuses_bad_regions_other_roles_and_other_reports_photos(
        client, db_session, auth_header, now):
    report = factories.routed_report(db_session, now=now)
    other = factories.routed_report(db_session, now=now)
    photo = factories.stored_photo(db_session, report, seed=12)
    display = photo.display_key
    url = f"/api/v1/reports/{report.tracking_code}/photos/{photo.id}/blur"
    region = {"left": 0.1, "top": 0.1, "width": 0.2, "height": 0.2}
    for bad in ({**region, "width": 0}, {**region, "left": 0.9}, {**region, "top": -1},
                {"left": 0.1}, {**region, "width": "wide"}):
        response = client.post(url, json=bad, headers=auth_header("moderator"))
        assert response.status_code == 422, (bad, response.json)
    assert client.post(url, json=region, headers=auth_header("officer")).status_code == 403
    elsewhere = f"/api/v1/reports/{other.tracking_code}/photos/{photo.id}/blur"
    assert client.post(elsewhere, json=region, headers=auth_header("moderator")).status_code == 404
    assert photo.display_key == display
