"""The JSON API under /api/v1: one flask-smorest Blueprint per resource."""
from feedback.api import auth, departments, health
from feedback.api import citizen_auth, workflow
from feedback.api import catalogue, guards, reports
from feedback.api import deadlines as deadline_api
from feedback.api import public as public_api
from feedback.api.errors import Api
from feedback.api.security import SECURITY_SCHEME

api = Api()


def init_app(app):
    guards.init_app(app)
    api.init_app(app, spec_kwargs={"info": {"description": (
        "The JSON API of Phản ánh hiện trường. Errors always have the shape "
        '{"code", "message", "details"}.')}})
    api.spec.components.security_scheme("bearerAuth", SECURITY_SCHEME)
    for module in (health, auth, departments):
        api.register_blueprint(module.blp)
    api.register_blueprint(citizen_auth.blp)
    api.register_blueprint(workflow.blp)
    for blueprint in (*reports.BLUEPRINTS, catalogue.blp):
        api.register_blueprint(blueprint)
    for blueprint in deadline_api.BLUEPRINTS:
        api.register_blueprint(blueprint)
    public_api.register(api, app)
