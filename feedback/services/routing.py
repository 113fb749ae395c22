"""Routing: (category, area) → the lead department, by the most specific rule.

A commune's rule wins over its province's, which wins over a rule for anywhere; among
equals the higher priority, then the older rule. No rule: the report waits in the
moderators' manual routing queue.
"""
from datetime import datetime, timezone

from sqlalchemy import bindparam, case, or_, select
from sqlalchemy.orm import Session, joinedload

from feedback.extensions import db
from feedback.models import ManualRouting, Report, ReportStatus, RoutingRule
from feedback.services import workflow

ROUTE = "feedback.services.routing.route_report"
ROUTING_QUEUE = "routing"


def find_rule(session: Session, category_id: int, area_code: str | None,
              province_code: str | None) -> RoutingRule | None:
    return session.execute(_FIND_RULE, {
        "category_id": category_id, "area_code": area_code, "province_code": province_code,
    }).unique().scalar_one_or_none()


# Built once with bound parameters: made anew per call, the statement (a CASE, its
# options) cost a routing job more to build and key for the cache than to run.
_SPECIFICITY = case(
    (RoutingRule.area_code.is_(None), 2),
    (RoutingRule.area_code == bindparam("area_code"), 0),
    else_=1,
)
_FIND_RULE = (
    select(RoutingRule)
    .where(RoutingRule.category_id == bindparam("category_id"), RoutingRule.active.is_(True),
           or_(RoutingRule.area_code.is_(None),
               RoutingRule.area_code == bindparam("area_code"),
               RoutingRule.area_code == bindparam("province_code")))
    # One statement: SQLAlchemy limits the rules in a subquery, then joins.
    .options(joinedload(RoutingRule.coordinators), joinedload(RoutingRule.department))
    .order_by(_SPECIFICITY, RoutingRule.priority.desc(), RoutingRule.id)
    .limit(1)
)


def route(session: Session, report: Report, *, now: datetime) -> str:
    """Route one report that waits for routing; answers what happened."""
    if report.manual_routing is not None:
        return "waiting for a moderator"
    if report.status != ReportStatus.SUBMITTED or report.lead_department_id is not None:
        return "already routed"
    rule = find_rule(session, report.category_id, report.area_code, report.province_code)
    if rule is None or not rule.department.active:
        workflow.send_to_manual_routing(session, report, ManualRouting.NO_RULE, now=now)
        return "no rule: manual routing"
    workflow.assign(session, report, rule.department, rule.coordinators, actor=None, now=now,
                    reason="rule", data={"rule_id": rule.id})
    return f"routed to {rule.department.code}"


def route_report(report_id: int) -> str:
    """Outbox job: route the report. Running it twice routes once."""
    session = db.session
    report = workflow.load_for_move(session, report_id)
    if report is None:
        return "no such report"
    return route(session, report, now=datetime.now(timezone.utc))
