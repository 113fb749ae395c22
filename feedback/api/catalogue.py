"""What the app lists before a citizen writes: categories, and provinces and communes
searchable without Vietnamese accents. Public: no sign-in."""
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from feedback.extensions import db
from feedback.models import Area, Category
from feedback.schemas.reports import AreaPageSchema, AreaQuerySchema, PublicCategorySchema
from feedback.services.text import fold_accents

blp = Blueprint("catalogue", __name__, url_prefix="/api/v1",
                description="Categories and areas, for the app's pickers")

CATALOGUE_MAX_AGE = 300


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, PublicCategorySchema(many=True))
    def get(self):
        """The categories that take reports, in the order the app shows them: Vietnamese
        and English names, an icon key, the urgency and whether a photo is required."""
        categories = db.session.execute(
            select(Category).where(Category.active.is_(True))
            .order_by(Category.sort_order, Category.code)
        ).scalars().all()
        return categories, 200, {"Cache-Control": f"public, max-age={CATALOGUE_MAX_AGE}"}


@blp.route("/areas")
class Areas(MethodView):
    @blp.arguments(AreaQuerySchema, location="query")
    @blp.response(200, AreaPageSchema)
    def get(self, query):
        """Provinces and communes (wards, special zones), a page at a time.

        `q` matches names with or without accents ("vi thanh" finds "Phường Vị Thanh"),
        or the start of a code; best matches first, then by code. `province` keeps one
        province's communes; `level` keeps provinces or communes.
        """
        province = aliased(Area)
        conditions = []
        if query["level"]:
            conditions.append(Area.level == query["level"])
        if query["province"]:
            conditions.append(Area.province_code == query["province"])
        rank = Area.code
        text = fold_accents(query["q"] or "")
        if text.isdigit():
            conditions.append(Area.code.startswith(text))
        elif text:
            conditions.append(Area.search_name.contains(text, autoescape=True))
            # The name itself ("vi thanh" in "phuong vi thanh") before a longer name.
            rank = case((Area.search_name.endswith(" " + text, autoescape=True), 0),
                        (Area.search_name == text, 0), else_=1)
        total = db.session.execute(
            select(func.count()).select_from(Area).where(*conditions)
        ).scalar_one()
        offset = (query["page"] - 1) * query["per_page"]
        rows = db.session.execute(
            select(Area, province.name)
            .outerjoin(province, province.code == Area.province_code)
            .where(*conditions)
            .order_by(rank, Area.code)
            .offset(offset).limit(query["per_page"])
        ).all()
        items = [{"code": area.code, "name": area.name, "level": str(area.level),
                  "division_type": area.division_type, "province_code": area.province_code,
                  "province_name": province_name} for area, province_name in rows]
        return {"items": items, "page": query["page"], "per_page": query["per_page"],
                "total": total}
