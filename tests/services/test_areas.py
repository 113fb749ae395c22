import pytest
from sqlalchemy import func, select

from feedback.models import Area, AreaLevel
from feedback.services.areas import import_areas, official_areas
from feedback.services.text import fold_accents


def test_the_official_list_has_34_provinces_and_3321_communes():
    rows = official_areas()
    assert sum(row["level"] == AreaLevel.PROVINCE for row in rows) == 34
    assert sum(row["level"] == AreaLevel.COMMUNE for row in rows) == 3321


def test_official_codes_are_kept_with_their_leading_zeros():
    codes = {row["code"]: row for row in official_areas()}
    assert codes["01"]["name"] == "Thành phố Hà Nội"
    assert codes["00004"]["province_code"] == "01"
    assert codes["31321"]["name"] == "Phường Vị Thanh"  # once Hậu Giang, now Cần Thơ
    assert codes["31321"]["province_code"] == "92"


def test_names_are_tidied_of_doubled_spaces():
    assert all("  " not in row["name"] for row in official_areas())


@pytest.mark.embedded
def test_importing_twice_changes_nothing(db_session):
    counts = import_areas(db_session, official_areas())
    assert counts == {"added": 0, "updated": 0, "unchanged": 3355}
    assert db_session.execute(select(func.count()).select_from(Area)).scalar() == 3355


def test_an_import_updates_a_name_the_official_list_changed(db_session):
    area = db_session.get(Area, "31321")
    area.name = "Phường Cũ"
    db_session.flush()
    counts = import_areas(db_session, official_areas())
    assert counts["updated"] == 1
    assert db_session.get(Area, "31321").name == "Phường Vị Thanh"


@pytest.mark.embedded
def test_vi_thanh_without_accents_finds_vi_thanh(db_session):
    found = db_session.execute(
        select(Area.name).where(Area.search_name.contains(fold_accents("vi thanh")))
    ).scalars().all()
    assert "Phường Vị Thanh" in found


def test_folding_handles_the_letter_d_with_stroke_and_nfd_input():
    import unicodedata
    assert fold_accents("Đông Hiệp") == "dong hiep"
    assert fold_accents(unicodedata.normalize("NFD", "Phường Vị Thanh")) == "phuong vi thanh"
