"""A month of made-up activity in the demo province, so the web view shows what a working
day looks like: new reports waiting for moderators, a department's queue with reports
overdue and due soon, answers, ratings and an extension request for the dashboard.

Every report goes through the real moves of `workflow` at past instants, with photos
made by Pillow and passed through the real photo pipeline. For demonstrations and the
browser tests' screenshots only: the citizens are invented (+8490000xxxx).
"""
import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import (
    Area,
    Category,
    Department,
    Outcome,
    Photo,
    PhotoKind,
    PhotoState,
    Rating,
    Report,
    ReportEvent,
    ReportStatus,
    Role,
    User,
)
from feedback.services import deadlines, photos as pipeline, routing, workflow
from feedback.services.deadlines import Step
from feedback.services.intake import original_key, tracking_code

# category, commune, title, description, address, latitude, longitude
SCENES = [
    ("giao-thong", "31135", "Ổ gà lớn giữa đường Hòa Bình",
     "Ổ gà sâu khoảng 20 cm trước số 45 Hòa Bình, xe máy đi tối rất dễ té. Đề nghị vá gấp.",
     "45 Đại lộ Hòa Bình", 10.0339, 105.7836),
    ("giao-thong", "31120", "Đèn tín hiệu giao thông không hoạt động",
     "Đèn giao thông ngã tư Trần Phú – Cách Mạng Tháng Tám tắt từ sáng, kẹt xe kéo dài.",
     "Ngã tư Trần Phú – CMT8", 10.0476, 105.7812),
    ("ha-tang", "31135", "Vỉa hè bị sụt lún",
     "Vỉa hè đoạn trước chợ Tân An sụt lún, gạch bong tróc, người đi bộ phải xuống lòng đường.",
     "Chợ Tân An, Hai Bà Trưng", 10.0318, 105.7878),
    ("cap-thoat-nuoc-ngap", "31150", "Ngập sâu sau mưa",
     "Mưa 30 phút mà đường Nguyễn Văn Cừ ngập gần nửa bánh xe, nước rút rất chậm.",
     "Nguyễn Văn Cừ nối dài", 10.0201, 105.7447),
    ("moi-truong-rac", "31147", "Rác thải tập kết sai nơi quy định",
     "Bãi rác tự phát ở đầu hẻm 132 bốc mùi hôi, ruồi nhặng nhiều, đã 3 ngày chưa được thu gom.",
     "Hẻm 132 Mậu Thân", 10.0295, 105.7702),
    ("dien-chieu-sang", "31168", "Đèn đường hư cả đoạn",
     "Khoảng 6 trụ đèn trên đường Lê Hồng Phong không sáng, buổi tối rất tối và nguy hiểm.",
     "Lê Hồng Phong", 10.0705, 105.7566),
    ("cay-xanh", "31135", "Cây xanh nghiêng có nguy cơ ngã",
     "Cây dầu trước trường học nghiêng nhiều sau cơn giông, rễ bật lên, sợ ngã vào người đi đường.",
     "Trường THCS Đoàn Thị Điểm", 10.0362, 105.7855),
    ("trat-tu-do-thi", "31135", "Lấn chiếm lòng lề đường",
     "Quán ăn bày bàn ghế kín vỉa hè và một phần lòng đường vào buổi tối.",
     "Đường Nguyễn Thái Học", 10.0330, 105.7870),
    ("xay-dung", "31186", "Công trình không che chắn",
     "Công trình xây dựng để vật liệu tràn ra đường, bụi mù mịt, không có rào chắn.",
     "Đường Trần Hưng Đạo", 10.0028, 105.7693),
    ("giao-thong", "31186", "Biển báo bị che khuất",
     "Biển báo hạn chế tốc độ bị cây che gần hết, tài xế không thấy.",
     "Quốc lộ 1, gần cầu Cái Răng", 10.0065, 105.7622),
    ("giao-thong", "31201", "Nắp hố ga bị mất",
     "Nắp hố ga trên đường Võ Nguyên Giáp bị mất, chỉ có cành cây cắm để báo hiệu.",
     "Võ Nguyên Giáp", 10.0157, 105.7941),
    ("ha-tang", "31120", "Cầu bộ hành xuống cấp",
     "Lan can cầu bộ hành bị gãy một đoạn, trẻ em đi học qua rất nguy hiểm.",
     "Cầu bộ hành Cái Khế", 10.0458, 105.7861),
    ("an-ninh-trat-tu", "31147", "Karaoke ồn ào sau 22 giờ",
     "Nhà số 18 hát karaoke rất lớn đến 1 giờ sáng nhiều đêm liền.",
     "18 đường 3 tháng 2", 10.0259, 105.7677),
    ("khac", "31135", "Xe bán hàng rong dùng loa công suất lớn",
     "Xe bán hàng rong phát loa quảng cáo liên tục trong khu dân cư từ sáng sớm.",
     "Khu dân cư 91B", 10.0231, 105.7633),
    ("giao-thong", "31135", "Vạch kẻ đường bị mờ",
     "Vạch qua đường trước bệnh viện gần như không còn thấy, xe không nhường người đi bộ.",
     "Trước Bệnh viện Đa khoa", 10.0346, 105.7806),
    ("xay-dung", "31168", "Xây dựng không phép",
     "Nhà đang xây thêm tầng 4 lấn ra ngoài ranh, công nhân làm cả ban đêm.",
     "Hẻm 5 Cách Mạng Tháng Tám", 10.0637, 105.7592),
    ("ha-tang", "31150", "Đường bê tông bị nứt vỡ",
     "Đường bê tông trong khu dân cư nứt thành nhiều mảng, mưa xuống đọng nước.",
     "Khu dân cư Nam Long", 10.0140, 105.7508),
    ("giao-thong", "31147", "Xe tải đậu trên cầu",
     "Xe tải thường xuyên đậu trên dốc cầu để bốc hàng, che tầm nhìn.",
     "Cầu Rạch Ngỗng", 10.0288, 105.7721),
]

_DAY = timedelta(days=1)


@dataclass
class _Clock:
    """Walks forward through working time from a start, for plausible timestamps."""

    at: datetime

    def after(self, minutes: float) -> datetime:
        self.at = self.at + timedelta(minutes=minutes)
        return self.at


def scene_picture(category: str, seed: int) -> bytes:
    """A street scene drawn with Pillow: sky, a road or a canal, and the problem."""
    rng = random.Random(seed)
    width, height = 960, 720
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    sky_top = (rng.randint(120, 160), rng.randint(170, 200), rng.randint(220, 245))
    for y in range(height // 2):
        t = y / (height / 2)
        draw.line([(0, y), (width, y)], fill=tuple(int(c + (250 - c) * t * 0.6) for c in sky_top))
    ground = {"cap-thoat-nuoc-ngap": (112, 118, 104), "cay-xanh": (96, 128, 72),
              "moi-truong-rac": (128, 116, 96)}.get(category, (92, 96, 102))
    draw.rectangle([0, height // 2, width, height], fill=ground)
    for i in range(rng.randint(3, 6)):  # houses along the street
        x = rng.randint(-40, width - 80)
        w, h = rng.randint(90, 180), rng.randint(120, 230)
        color = rng.choice([(231, 204, 160), (214, 178, 150), (196, 208, 220), (240, 226, 200)])
        draw.rectangle([x, height // 2 - h, x + w, height // 2], fill=color)
        draw.rectangle([x + w // 3, height // 2 - h // 2, x + 2 * w // 3, height // 2],
                       fill=(120, 90, 70))
    draw.polygon([(width * 0.35, height // 2), (width * 0.65, height // 2), (width, height),
                  (0, height)], fill=(74, 78, 84))
    for y in range(height // 2 + 20, height, 60):  # lane marks
        draw.rectangle([width // 2 - 4, y, width // 2 + 4, y + 28], fill=(235, 235, 220))
    cx, cy = rng.randint(width // 3, 2 * width // 3), rng.randint(int(height * 0.68), int(height * 0.85))
    if category in ("giao-thong", "ha-tang"):
        draw.ellipse([cx - 110, cy - 38, cx + 110, cy + 38], fill=(42, 40, 38))
        draw.ellipse([cx - 90, cy - 26, cx + 80, cy + 24], fill=(70, 82, 92))
    elif category == "cap-thoat-nuoc-ngap":
        draw.rectangle([0, int(height * 0.62), width, height], fill=(126, 112, 84))
    elif category == "moi-truong-rac":
        for _ in range(40):
            x, y = cx + rng.randint(-140, 140), cy + rng.randint(-50, 40)
            r = rng.randint(12, 30)
            draw.ellipse([x - r, y - r, x + r, y + r],
                         fill=rng.choice([(30, 30, 30), (200, 60, 50), (40, 90, 160), (220, 220, 210)]))
    elif category == "dien-chieu-sang":
        draw.rectangle([cx - 6, height // 2 - 260, cx + 6, cy], fill=(110, 110, 115))
        draw.ellipse([cx - 30, height // 2 - 280, cx + 30, height // 2 - 250], fill=(60, 60, 60))
    elif category == "cay-xanh":
        draw.polygon([(cx - 20, cy), (cx + 20, cy), (cx + 160, height // 2 - 200),
                      (cx + 120, height // 2 - 220)], fill=(100, 72, 50))
        draw.ellipse([cx + 40, height // 2 - 360, cx + 300, height // 2 - 140], fill=(58, 120, 58))
    else:
        draw.rectangle([cx - 120, cy - 90, cx + 120, cy + 10], fill=(200, 120, 40))
        draw.rectangle([cx - 100, cy - 70, cx + 100, cy - 10], fill=(230, 200, 90))
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82)
    return buffer.getvalue()


def _photo(session: Session, report: Report, data: bytes, *, kind: PhotoKind, position: int,
           uploaded_by: int | None, now: datetime, storage, max_pixels: int) -> Photo:
    info = pipeline.inspect_upload(data, max_pixels=max_pixels)
    key = original_key(info)
    if not storage.exists(key):
        storage.put(key, data, info.content_type)
    copies = pipeline.process_photo(data, max_pixels=max_pixels)
    for rendition in (copies.display, copies.thumbnail):
        if not storage.exists(rendition.name):
            storage.put(rendition.name, rendition.data, rendition.content_type)
    photo = Photo(report=report, kind=kind, position=position, state=PhotoState.READY,
                  uploaded_by_id=uploaded_by, original_key=key, original_sha256=info.sha256,
                  original_format=info.type, original_bytes=len(data),
                  display_key=copies.display.name, thumbnail_key=copies.thumbnail.name,
                  width=copies.display.width, height=copies.display.height, created_at=now,
                  processed_at=now)
    session.add(photo)
    return photo


def _citizen(session: Session, number: int) -> User:
    phone = f"+8490000{number:04d}"
    user = session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
    if user is None:
        names = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Minh", "Phạm Thu Hà", "Võ Thanh Tùng",
                 "Huỳnh Ngọc Lan", "Đặng Quốc Bảo", "Bùi Thị Mai", "Đỗ Minh Khoa", "Ngô Thị Hồng"]
        user = User(role=Role.CITIZEN, phone=phone, full_name=names[number % len(names)])
        session.add(user)
        session.flush()
    return user


def _submit(session: Session, scene, *, citizen: User, at: datetime, storage, config,
            with_photo: bool, seed: int, anonymous: bool = False) -> Report:
    category_code, commune, title, description, address, lat, lon = scene
    category = session.execute(select(Category).where(Category.code == category_code)).scalar_one()
    area = session.get(Area, commune)
    rng = random.Random(seed)
    report = Report(
        tracking_code="tmp-demo-%d" % seed, citizen=citizen, category=category,
        priority=category.priority, title=title, description=description,
        latitude=lat + rng.uniform(-0.0008, 0.0008), longitude=lon + rng.uniform(-0.0008, 0.0008),
        address_text=address, area_code=area.code, province_code=area.province_code,
        submitted_at=at, updated_at=at, status=ReportStatus.SUBMITTED, is_anonymous=anonymous,
    )
    session.add(report)
    deadlines.start_clock(report, Step.MODERATE, now=at, calendar=deadlines.calendar_for(session))
    session.add(ReportEvent(report=report, kind="submitted", to_status=ReportStatus.SUBMITTED,
                            actor_id=citizen.id, actor_role=str(Role.CITIZEN), created_at=at,
                            is_public=True))
    session.flush()
    report.tracking_code = tracking_code(report.id, at, config["TIME_ZONE"])
    if with_photo:
        _photo(session, report, scene_picture(category_code, seed), kind=PhotoKind.REPORT,
               position=0, uploaded_by=citizen.id, now=at, storage=storage,
               max_pixels=config["PHOTO_MAX_PIXELS"])
    session.flush()
    return report


def _staff(session: Session, username: str) -> User:
    return session.execute(select(User).where(User.username == username)).scalar_one()


def _officer_for(session: Session, department: Department) -> User:
    """The department's officer, made for the demo if it has none."""
    officer = session.execute(
        select(User).where(User.role == Role.OFFICER, User.department_id == department.id)
        .order_by(User.id).limit(1)).scalar_one_or_none()
    if officer is None:
        officer = User(role=Role.OFFICER, username=f"demo.{department.code}", department=department,
                       full_name=f"Cán bộ {department.name}"[:200], active=False)
        session.add(officer)
        session.flush()
    return officer


def load_demo_activity(session: Session, *, now: datetime, storage, config,
                       seed: int = 2026) -> dict:
    """Made-up activity over the 35 days before `now`. Loading it again adds more."""
    rng = random.Random(seed)
    moderator = _staff(session, "moderator")
    counts = {"submitted": 0, "open": 0, "resolved": 0, "manual": 0}
    serial = seed * 1000

    def fresh(scene, at, *, photo=True, citizen_number=None, anonymous=False):
        nonlocal serial
        serial += 1
        citizen = _citizen(session, citizen_number if citizen_number is not None
                           else rng.randint(1, 60))
        return _submit(session, scene, citizen=citizen, at=at, storage=storage, config=config,
                       with_photo=photo, seed=serial, anonymous=anonymous)

    def route(report, at):
        workflow.approve(session, report, actor=moderator, now=at)
        routing.route(session, report, now=at + timedelta(minutes=1))
        session.flush()  # the lead department's id, which the next move checks

    # Resolved over the past five weeks, across departments: the dashboard's figures.
    routable = [scene for scene in SCENES if scene[0] != "khac"]
    for day in range(35, 0, -1):
        for _ in range(rng.randint(2, 4)):
            at = now - day * _DAY + timedelta(hours=rng.randint(-3, 3), minutes=rng.randint(0, 59))
            report = fresh(rng.choice(routable), at)
            clock = _Clock(at)
            route(report, clock.after(rng.randint(20, 300)))
            if report.lead_department is None:
                continue
            officer = _officer_for(session, report.lead_department)
            workflow.acknowledge(session, report, actor=officer,
                                 now=clock.after(rng.randint(30, 600)))
            late = rng.random() < 0.12
            resolve_at = (report.resolve_due_at + timedelta(hours=rng.randint(2, 48)) if late
                          else clock.after(rng.randint(240, 4 * 24 * 60)))
            if resolve_at >= now - timedelta(hours=1):
                resolve_at = now - timedelta(hours=rng.randint(2, 20))
            if resolve_at <= clock.at:
                resolve_at = clock.after(60)
            outcome = rng.choice([Outcome.FIXED, Outcome.FIXED, Outcome.FIXED, Outcome.PLANNED])
            photos = []
            if outcome == Outcome.FIXED:
                photos = [_photo(session, report, scene_picture("fixed", serial), kind=PhotoKind.ANSWER,
                                 position=0, uploaded_by=officer.id, now=resolve_at, storage=storage,
                                 max_pixels=config["PHOTO_MAX_PIXELS"])]
                session.flush()
            workflow.answer(session, report, actor=officer, now=resolve_at, outcome=outcome,
                            text="Đơn vị đã kiểm tra hiện trường và xử lý xong. Cảm ơn người dân đã phản ánh.",
                            photos=photos)
            if report.status == ReportStatus.RESOLVED and rng.random() < 0.75:
                rating = rng.choices(list(Rating), weights=[70, 20, 10])[0]
                rated_at = min(resolve_at + timedelta(hours=rng.randint(1, 30)), now)
                workflow.rate(session, report, actor=report.citizen, now=rated_at, rating=rating)
            counts["resolved"] += 1

    # Open work for the departments: some acknowledged, some overdue, one waiting for the citizen.
    building = session.execute(select(Department).where(Department.code == "ct-so-xay-dung")).scalar_one()
    officer = _officer_for(session, building)
    ours = [scene for scene in SCENES if scene[0] in ("giao-thong", "ha-tang", "xay-dung")]
    for index in range(16):
        hours_ago = [3, 5, 9, 20, 26, 30, 44, 52, 70, 80, 96, 120, 150, 170, 200, 240][index]
        at = now - timedelta(hours=hours_ago)
        report = fresh(ours[index % len(ours)], at, anonymous=index % 5 == 0)
        route(report, at + timedelta(minutes=40))
        if index % 4 != 0:
            workflow.acknowledge(session, report, actor=officer, now=at + timedelta(hours=3))
        if index == 6:
            workflow.request_info(session, report, actor=officer, now=at + timedelta(hours=5),
                                  question="Đề nghị cho biết số nhà chính xác hoặc gửi thêm ảnh toàn cảnh.")
        if index == 9 and report.status == ReportStatus.IN_PROGRESS:
            latest = deadlines.latest_extension_due(report, calendar=deadlines.calendar_for(session))
            try:
                workflow.request_extension(
                    session, report, actor=officer, now=now - timedelta(hours=2),
                    reason="Cần phối hợp với đơn vị điện lực di dời trụ điện trước khi thi công.",
                    new_due_at=latest)
            except (workflow.WorkflowError, TypeError):
                pass  # past its deadline on this calendar: no extension to show
        counts["open"] += 1
    for index, scene in enumerate(SCENES[:6]):
        if scene[0] in ("giao-thong", "ha-tang", "xay-dung"):
            continue
        report = fresh(scene, now - timedelta(hours=10 + index * 7))
        route(report, report.submitted_at + timedelta(minutes=30))
        counts["open"] += 1

    # The moderators' queue: new reports, oldest first; one sender with a history.
    for index in range(11):
        scene = SCENES[(index * 5) % len(SCENES)]
        at = now - timedelta(minutes=25 + index * 95)
        fresh(scene, at, photo=index % 4 != 3, citizen_number=7 if index in (2, 8) else None,
              anonymous=index == 5)
        counts["submitted"] += 1
    spam = fresh(SCENES[3], now - timedelta(days=9), photo=False, citizen_number=7)
    workflow.reject(session, spam, actor=moderator, now=now - timedelta(days=9, hours=-1),
                    reason_code="insufficient_information", note="Không rõ vị trí.")

    # The manual routing queue: no rule, and returned by a department.
    for index, hours_ago in enumerate((6, 30)):
        report = fresh(SCENES[13], now - timedelta(hours=hours_ago))
        route(report, report.submitted_at + timedelta(minutes=20))
        counts["manual"] += 1
    returned = fresh(SCENES[12], now - timedelta(hours=20))
    route(returned, returned.submitted_at + timedelta(minutes=15))
    if returned.lead_department is not None and returned.status == ReportStatus.ASSIGNED:
        workflow.return_report(session, returned, actor=_officer_for(session, returned.lead_department),
                               now=returned.submitted_at + timedelta(hours=3),
                               reason_code="not_our_competence",
                               note="Tiếng ồn khu dân cư thuộc UBND phường xử lý.")
        counts["manual"] += 1

    from feedback.services.sweep import sweep

    sweep(session, now=now, calendar=deadlines.calendar_for(session))
    session.flush()
    return counts
