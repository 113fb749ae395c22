"""Flask extensions, created unbound and bound to an app in `create_app()`."""
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def client_address() -> str:
    """The caller's address, as Werkzeug's ProxyFix leaves it when behind a proxy."""
    from flask import request

    return request.remote_addr or "unknown"


# Redis storage in production (RATELIMIT_STORAGE_URI defaults to REDIS_URL). When
# Redis is away, limits fall back to memory rather than refusing citizens' reports.
limiter = Limiter(key_func=client_address, key_prefix="phananh", headers_enabled=True,
                  swallow_errors=True, in_memory_fallback_enabled=True)
