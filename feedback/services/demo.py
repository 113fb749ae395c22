"""The demo province: Cần Thơ, which since 1 July 2025 takes in the former Hậu Giang
and Sóc Trăng. Departments, the categories of DESIGN.md with their deadlines,
routing rules, and one demo user per role. Loading it twice changes nothing.
"""
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import (
    Area,
    AreaLevel,
    Category,
    Department,
    DepartmentKind,
    Role,
    RoutingRule,
    Urgency,
    User,
)
from feedback.services.auth import hash_password, verify_password

PROVINCE_CODE = "92"  # Thành phố Cần Thơ

# Commune codes of the provinces merged into Cần Thơ, by their old code ranges.
FORMER_HAU_GIANG = range(31318, 31501)
FORMER_SOC_TRANG = range(31501, 31900)

# Time limits per urgency, from DESIGN.md's table: moderate, acknowledge, resolve, extension.
LIMITS = {
    Urgency.NORMAL: ("8h", "8h", "5d", "5d"),
    Urgency.COMPLEX: ("8h", "8h", "15d", "10d"),
    Urgency.URGENT: ("30m", "1h", "4h", None),
}

# code, Vietnamese name, English name, icon key, urgency, photo required
CATEGORIES = [
    ("giao-thong", "Giao thông", "Traffic", "traffic", Urgency.NORMAL, True),
    ("ha-tang", "Hạ tầng", "Infrastructure", "infrastructure", Urgency.COMPLEX, True),
    ("trat-tu-do-thi", "Trật tự đô thị", "Urban order", "urban-order", Urgency.NORMAL, True),
    ("xay-dung", "Xây dựng", "Construction", "construction", Urgency.COMPLEX, True),
    ("moi-truong-rac", "Môi trường và rác", "Environment and waste", "waste",
     Urgency.NORMAL, True),
    ("cap-thoat-nuoc-ngap", "Cấp thoát nước và ngập", "Water, drainage and flooding", "water",
     Urgency.NORMAL, True),
    ("dien-chieu-sang", "Điện và chiếu sáng", "Electricity and street lighting", "lighting",
     Urgency.NORMAL, True),
    ("cay-xanh", "Cây xanh", "Trees", "tree", Urgency.NORMAL, True),
    ("vien-thong", "Viễn thông", "Telecommunications", "telecom", Urgency.NORMAL, True),
    ("xe-buyt", "Xe buýt", "Buses", "bus", Urgency.NORMAL, False),
    # Noise cannot be photographed.
    ("an-ninh-trat-tu", "An ninh trật tự và tiếng ồn", "Public order and noise", "noise",
     Urgency.NORMAL, False),
    ("y-te-attp", "Y tế và an toàn thực phẩm", "Health and food safety", "health",
     Urgency.NORMAL, False),
    ("giao-duc", "Giáo dục", "Education", "education", Urgency.NORMAL, False),
    ("dat-dai", "Đất đai", "Land", "land", Urgency.COMPLEX, True),
    # In a flood or a storm nobody should be held back by a missing photo.
    ("thien-tai", "Thiên tai", "Natural disasters", "disaster", Urgency.URGENT, False),
    ("thu-tuc-hanh-chinh", "Thủ tục hành chính và thái độ cán bộ",
     "Administrative procedures and staff conduct", "paperwork", Urgency.NORMAL, False),
    ("khac", "Khác", "Other", "other", Urgency.NORMAL, False),
]

# code, name, kind, parent code, email
DEPARTMENTS = [
    ("ct-ioc", "Trung tâm Giám sát, điều hành đô thị thông minh thành phố Cần Thơ",
     DepartmentKind.OPERATIONS, None, "ioc@cantho.gov.vn"),
    ("ct-so-xay-dung", "Sở Xây dựng thành phố Cần Thơ", DepartmentKind.PROVINCIAL, None,
     "soxd@cantho.gov.vn"),
    ("ct-so-nnmt", "Sở Nông nghiệp và Môi trường thành phố Cần Thơ", DepartmentKind.PROVINCIAL,
     None, "sonnmt@cantho.gov.vn"),
    ("ct-bch-pctt", "Ban Chỉ huy Phòng thủ dân sự thành phố Cần Thơ", DepartmentKind.PROVINCIAL,
     "ct-so-nnmt", "pctt@cantho.gov.vn"),
    ("ct-so-khcn", "Sở Khoa học và Công nghệ thành phố Cần Thơ", DepartmentKind.PROVINCIAL, None,
     "sokhcn@cantho.gov.vn"),
    ("ct-so-y-te", "Sở Y tế thành phố Cần Thơ", DepartmentKind.PROVINCIAL, None,
     "soyte@cantho.gov.vn"),
    ("ct-so-gddt", "Sở Giáo dục và Đào tạo thành phố Cần Thơ", DepartmentKind.PROVINCIAL, None,
     "sogddt@cantho.gov.vn"),
    ("ct-so-noi-vu", "Sở Nội vụ thành phố Cần Thơ", DepartmentKind.PROVINCIAL, None,
     "sonv@cantho.gov.vn"),
    ("ct-cong-an", "Công an thành phố Cần Thơ", DepartmentKind.PROVINCIAL, None,
     "congan@cantho.gov.vn"),
    ("ct-ttql-vtcc", "Trung tâm Quản lý vận tải hành khách công cộng", DepartmentKind.UTILITY,
     "ct-so-xay-dung", "xebuyt@cantho.gov.vn"),
    ("ct-dien-luc", "Công ty Điện lực Cần Thơ", DepartmentKind.UTILITY, None,
     "cskh@pccantho.vn"),
    ("ct-cong-trinh-do-thi", "Công ty TNHH MTV Công trình đô thị Cần Thơ",
     DepartmentKind.UTILITY, "ct-so-xay-dung", "ctdt@cantho.gov.vn"),
    ("ct-cap-thoat-nuoc", "Công ty Cổ phần Cấp thoát nước Cần Thơ", DepartmentKind.UTILITY, None,
     "cskh@ctwasuco.vn"),
    ("ct-cap-thoat-nuoc-hg", "Công ty Cổ phần Cấp thoát nước – Công trình đô thị Hậu Giang",
     DepartmentKind.UTILITY, None, "cskh@hgwaco.vn"),
    ("ct-cap-nuoc-st", "Công ty Cổ phần Cấp nước Sóc Trăng", DepartmentKind.UTILITY, None,
     "cskh@capnuocsoctrang.vn"),
]

# Province-wide rules: category → lead department, coordinating departments.
PROVINCE_RULES = {
    "giao-thong": ("ct-so-xay-dung", []),
    "ha-tang": ("ct-so-xay-dung", []),
    "xay-dung": ("ct-so-xay-dung", []),
    "moi-truong-rac": ("ct-so-nnmt", []),
    "cap-thoat-nuoc-ngap": ("ct-cap-thoat-nuoc", ["ct-so-xay-dung"]),
    "dien-chieu-sang": ("ct-dien-luc", ["ct-cong-trinh-do-thi"]),
    "cay-xanh": ("ct-cong-trinh-do-thi", []),
    "vien-thong": ("ct-so-khcn", []),
    "xe-buyt": ("ct-ttql-vtcc", []),
    "an-ninh-trat-tu": ("ct-cong-an", []),
    "y-te-attp": ("ct-so-y-te", []),
    "giao-duc": ("ct-so-gddt", []),
    "dat-dai": ("ct-so-nnmt", []),
    "thien-tai": ("ct-bch-pctt", ["ct-so-nnmt"]),
    "thu-tuc-hanh-chinh": ("ct-so-noi-vu", []),
    # "khac" has no rule on purpose: such reports wait for a moderator to route them.
}

# Handled by the commune's people's committee wherever the report is.
COMMUNE_CATEGORIES = ("trat-tu-do-thi", "moi-truong-rac")


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    password: str
    department_code: str | None
    full_name: str


DEMO_USERS = [
    DemoUser("admin", Role.ADMIN, "admin-demo-2026", "ct-ioc", "Quản trị hệ thống"),
    DemoUser("moderator", Role.MODERATOR, "moderator-demo-2026", "ct-ioc", "Kiểm duyệt viên IOC"),
    DemoUser("supervisor", Role.SUPERVISOR, "supervisor-demo-2026", "ct-ioc", "Lãnh đạo IOC"),
    DemoUser("officer", Role.OFFICER, "officer-demo-2026", "ct-so-xay-dung",
             "Cán bộ Sở Xây dựng"),
    DemoUser("officer.ninhkieu", Role.OFFICER, "officer-demo-2026", "ct-ubnd-31135",
             "Cán bộ UBND phường Ninh Kiều"),
]
DEMO_CITIZEN_PHONE = "+84900000001"


class DemoError(RuntimeError):
    pass


def commune_committee_code(commune_code: str) -> str:
    return f"ct-ubnd-{commune_code}"


def _upsert(session: Session, model, key: str, value, fields: dict):
    row = session.execute(select(model).where(getattr(model, key) == value)).scalar_one_or_none()
    if row is None:
        row = model(**{key: value}, **fields)
        session.add(row)
    else:
        for name, field_value in fields.items():
            if getattr(row, name) != field_value:
                setattr(row, name, field_value)
    return row


def load_demo(session: Session) -> list[DemoUser]:
    """Load (or bring up to date) the demo province; returns the demo staff to print."""
    province = session.get(Area, PROVINCE_CODE)
    if province is None:
        raise DemoError("areas are not imported: run `flask areas import` first")
    communes = session.execute(
        select(Area).where(Area.province_code == PROVINCE_CODE, Area.level == AreaLevel.COMMUNE)
        .order_by(Area.code)
    ).scalars().all()

    categories = {}
    for order, (code, name_vi, name_en, icon, urgency, photo_required) in enumerate(CATEGORIES):
        moderate, acknowledge, resolve, extension = LIMITS[urgency]
        categories[code] = _upsert(session, Category, "code", code, {
            "name_vi": name_vi, "name_en": name_en, "icon": icon, "urgency": urgency,
            "priority": 1 if urgency == Urgency.URGENT else 3, "photo_required": photo_required,
            "moderate_limit": moderate, "acknowledge_limit": acknowledge,
            "resolve_limit": resolve, "extension_limit": extension, "sort_order": order,
        })

    departments = {}
    for code, name, kind, parent_code, email in DEPARTMENTS:
        departments[code] = _upsert(session, Department, "code", code, {
            "name": name, "kind": kind, "parent": departments.get(parent_code),
            "area_code": PROVINCE_CODE, "email": email,
        })
    for commune in communes:
        code = commune_committee_code(commune.code)
        departments[code] = _upsert(session, Department, "code", code, {
            "name": f"UBND {commune.name}", "kind": DepartmentKind.COMMUNE,
            "area_code": commune.code,
        })
    session.flush()

    wanted = []
    for category_code, (lead, coordinators) in PROVINCE_RULES.items():
        wanted.append((category_code, PROVINCE_CODE, lead, coordinators))
    for commune in communes:
        for category_code in COMMUNE_CATEGORIES:
            wanted.append((category_code, commune.code, commune_committee_code(commune.code), []))
        # Water in the merged provinces is still run by their own companies.
        if int(commune.code) in FORMER_HAU_GIANG:
            wanted.append(("cap-thoat-nuoc-ngap", commune.code, "ct-cap-thoat-nuoc-hg",
                           ["ct-so-xay-dung"]))
        elif int(commune.code) in FORMER_SOC_TRANG:
            wanted.append(("cap-thoat-nuoc-ngap", commune.code, "ct-cap-nuoc-st",
                           ["ct-so-xay-dung"]))
    existing = {
        (rule.category_id, rule.area_code, rule.department_id)
        for rule in session.execute(select(RoutingRule)).scalars()
    }
    for category_code, area_code, lead, coordinators in wanted:
        key = (categories[category_code].id, area_code, departments[lead].id)
        if key not in existing:
            session.add(RoutingRule(
                category=categories[category_code], area_code=area_code,
                department=departments[lead],
                coordinators=[departments[code] for code in coordinators],
            ))

    for demo in DEMO_USERS:
        user = _upsert(session, User, "username", demo.username, {
            "role": demo.role, "full_name": demo.full_name,
            "department": departments[demo.department_code],
        })
        # Keep the printed password true without re-hashing it on every load.
        if not verify_password(user.password_hash, demo.password):
            user.password_hash = hash_password(demo.password)
    _upsert(session, User, "phone", DEMO_CITIZEN_PHONE, {
        "role": Role.CITIZEN, "full_name": "Nguyễn Văn Dân",
    })
    session.flush()
    return DEMO_USERS
