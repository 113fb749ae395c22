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


def test_the_deployment_serves_the_provinces_of_its_departments(db_session):
    from feedback.models import Department, DepartmentKind
    from feedback.services.areas import deployment_areas, deployment_communes

    communes = deployment_communes(db_session)
    assert len(communes) == 103 and {area.province_code for area in communes} == {"92"}
    assert [province.code for province, _communes in deployment_areas(db_session)] == ["92"]
    # A department in Hà Nội brings Hà Nội's communes to every list that offers communes.
    db_session.add(Department(code="hn-test", name="UBND Phường Ba Đình",
                              kind=DepartmentKind.COMMUNE, area_code="00004", active=True))
    db_session.flush()
    served = dict(deployment_areas(db_session))
    assert sorted(province.code for province in served) == ["01", "92"]
    assert "00004" in {area.code for areas in served.values() for area in areas}
    assert "00004" in {area.code for area in deployment_communes(db_session)}


def test_a_deployment_with_no_department_yet_is_offered_every_province(db_session):
    from sqlalchemy import update

    from feedback.models import Department
    from feedback.services.areas import deployment_areas, deployment_communes

    db_session.execute(update(Department).values(active=False))
    assert deployment_communes(db_session) == []
    offered = deployment_areas(db_session)
    assert len(offered) == 34 and all(communes == [] for _province, communes in offered)
