"""What the app lists before a citizen writes: categories, provinces and communes."""
import pytest
from sqlalchemy import select

from feedback.models import Category


def test_the_categories_are_listed_in_order_with_their_names_icons_and_photo_rule(client):
    response = client.get("/api/v1/categories")

    assert response.status_code == 200
    categories = response.json
    assert len(categories) == 17
    assert categories[0] == {
        "code": "giao-thong", "name_vi": "Giao thông", "name_en": "Traffic", "icon": "traffic",
        "description": None, "urgency": "normal", "photo_required": True}
    by_code = {c["code"]: c for c in categories}
    assert by_code["thu-tuc-hanh-chinh"]["photo_required"] is False
    assert by_code["thien-tai"]["urgency"] == "urgent"
    assert categories[-1]["code"] == "khac"
    assert "max-age" in response.headers["Cache-Control"]


def test_an_inactive_category_is_not_offered(client, db_session):
    category = db_session.execute(
        select(Category).where(Category.code == "vien-thong")).scalar_one()
    category.active = False
    db_session.commit()

    codes = [c["code"] for c in client.get("/api/v1/categories").json]

    assert "vien-thong" not in codes and len(codes) == 16


def test_categories_need_no_sign_in(client):
    assert client.get("/api/v1/categories").status_code == 200


@pytest.mark.embedded
def test_an_area_is_found_without_its_accents(client):
    response = client.get("/api/v1/areas?q=vi thanh&province=92&level=commune")

    assert response.status_code == 200
    page = response.json
    assert page["items"][0] == {"code": "31321", "name": "Phường Vị Thanh", "level": "commune",
                                "division_type": "phường", "province_code": "92",
                                "province_name": "Thành phố Cần Thơ"}
    assert [a["name"] for a in page["items"]] == ["Phường Vị Thanh", "Xã Vị Thanh 1"]
    assert page["total"] == 2


def test_an_area_is_found_with_its_accents_and_in_any_case(client):
    names = [a["name"] for a in client.get("/api/v1/areas?q=NINH KIỀU").json["items"]]
    assert names[0] == "Phường Ninh Kiều"


def test_a_search_with_like_wildcards_matches_them_literally(client):
    assert client.get("/api/v1/areas?q=%25").json["total"] == 0
    assert client.get("/api/v1/areas?q=_").json["total"] == 0


def test_the_provinces_are_listed_by_code(client):
    page = client.get("/api/v1/areas?level=province&per_page=100").json

    assert page["total"] == 34
    assert page["items"][0]["code"] == "01"
    assert {"code": "92", "name": "Thành phố Cần Thơ"}.items() <= next(
        a for a in page["items"] if a["code"] == "92").items()
    assert all(a["province_code"] is None for a in page["items"])


def test_a_provinces_communes_come_a_page_at_a_time(client):
    first = client.get("/api/v1/areas?province=92&per_page=40").json
    third = client.get("/api/v1/areas?province=92&per_page=40&page=3").json

    assert first["total"] == 103
    assert len(first["items"]) == 40 and len(third["items"]) == 23
    assert all(a["province_code"] == "92" for a in first["items"] + third["items"])


def test_an_area_is_found_by_the_start_of_its_code(client):
    page = client.get("/api/v1/areas?q=3113").json
    assert page["items"] and all(a["code"].startswith("3113") for a in page["items"])


def test_a_wrong_level_is_refused(client):
    response = client.get("/api/v1/areas?level=district")
    assert response.status_code == 422
    assert "level" in response.json["details"]
