"""Vietnam's 34 provinces and 3,321 communes, imported from the `vietnam-provinces` package,
and the ones a deployment serves: the provinces its departments are in."""
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from vietnam_provinces import Province, Ward

from feedback.models import Area, AreaLevel, Department
from feedback.services.text import fold_accents, tidy


def province_code(code) -> str:
    return f"{int(code):02d}"


def commune_code(code) -> str:
    return f"{int(code):05d}"


def official_areas() -> list[dict]:
    """Every province, then every commune, as rows for the `areas` table."""
    rows = []
    for province in sorted(Province.iter_all(), key=lambda p: int(p.code)):
        name = tidy(province.name)
        rows.append({
            "code": province_code(province.code), "name": name, "level": AreaLevel.PROVINCE,
            "division_type": province.division_type.value, "codename": province.codename,
            "search_name": fold_accents(name), "province_code": None,
        })
    for ward in sorted(Ward.iter_all(), key=lambda w: int(w.code)):
        name = tidy(ward.name)
        rows.append({
            "code": commune_code(ward.code), "name": name, "level": AreaLevel.COMMUNE,
            "division_type": ward.division_type.value, "codename": ward.codename,
            "search_name": fold_accents(name), "province_code": province_code(ward.province_code),
        })
    return rows


def import_areas(session: Session, rows: Iterable[dict],
                 progress: Callable[[int], None] = lambda n: None) -> dict:
    """Insert what is new, update what changed, leave the rest: running twice changes nothing."""
    existing = {area.code: area for area in session.execute(select(Area)).scalars()}
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for row in rows:
        area = existing.get(row["code"])
        if area is None:
            session.add(Area(**row))
            counts["added"] += 1
        elif any(getattr(area, key) != value for key, value in row.items()):
            for key, value in row.items():
                setattr(area, key, value)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
        progress(1)
    return counts


def served_province_codes(session: Session) -> set[str]:
    """The provinces this deployment's active departments are in (a department's area is
    a province or one of its communes)."""
    served = select(Area.code, Area.province_code).join(
        Department, Department.area_code == Area.code).where(Department.active.is_(True))
    return {province or code for code, province in session.execute(served)}


def deployment_communes(session: Session) -> list[Area]:
    """The communes of the provinces this deployment's departments serve, by code: the
    communes a report may be placed in (Open311's list, the public filters)."""
    provinces = served_province_codes(session)
    if not provinces:
        return []
    return list(session.execute(
        select(Area).where(Area.level == AreaLevel.COMMUNE, Area.province_code.in_(provinces))
        .order_by(Area.code)).scalars())


def deployment_areas(session: Session) -> list[tuple[Area, list[Area]]]:
    """[(province, its communes by name)] for the provinces the deployment serves, for
    choosing an area (a department's, a routing rule's). With no department anywhere yet,
    every province, without communes: the first department chooses the province."""
    provinces = served_province_codes(session)
    if not provinces:
        return [(province, []) for province in session.execute(
            select(Area).where(Area.level == AreaLevel.PROVINCE).order_by(Area.name)).scalars()]
    communes: dict[str, list[Area]] = {code: [] for code in provinces}
    for commune in session.execute(
            select(Area).where(Area.level == AreaLevel.COMMUNE,
                               Area.province_code.in_(provinces)).order_by(Area.name)).scalars():
        communes[commune.province_code].append(commune)
    return [(province, communes[province.code]) for province in session.execute(
        select(Area).where(Area.code.in_(provinces)).order_by(Area.name)).scalars()]
