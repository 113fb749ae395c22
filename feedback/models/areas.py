"""Vietnam's administrative units since 1 July 2025: provinces and their communes."""
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from feedback.extensions import db
from feedback.models.types import text_enum


class AreaLevel(enum.StrEnum):
    PROVINCE = "province"
    COMMUNE = "commune"  # xã, phường or đặc khu: there are no districts any more


class Area(db.Model):
    __tablename__ = "areas"

    # The official code: two digits for a province ("92"), five for a commune ("31135").
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[AreaLevel] = mapped_column(text_enum(AreaLevel, "area_level", 12))
    # As the law names it: tỉnh, thành phố trung ương, xã, phường, đặc khu.
    division_type: Mapped[str] = mapped_column(String(40))
    codename: Mapped[str] = mapped_column(String(120))
    # Lower case without Vietnamese accents, so "vi thanh" finds "Vị Thanh".
    search_name: Mapped[str] = mapped_column(String(120), index=True)
    province_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)

    province: Mapped["Area | None"] = relationship(remote_side=[code])

    def __repr__(self) -> str:
        return f"<Area {self.code} {self.name}>"
