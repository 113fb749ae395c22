"""Vietnam's 34 provinces and 3,321 communes, imported from the `vietnam-provinces` package."""
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from vietnam_provinces import Province, Ward

from feedback.models import Area, AreaLevel
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
