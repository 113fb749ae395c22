"""Staff sign-in: what comes in and what goes out."""
import marshmallow as ma


class LoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    password = ma.fields.String(required=True, load_only=True,
                                validate=ma.validate.Length(min=1, max=200))


class StaffUserSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    full_name = ma.fields.String(allow_none=True)
    role = ma.fields.String()
    department_code = ma.fields.Function(
        lambda user: user.department.code if user.department else None, allow_none=True
    )


class TokenSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(dump_default="Bearer")
    expires_at = ma.fields.AwareDateTime(required=True)
    user = ma.fields.Nested(StaffUserSchema)
