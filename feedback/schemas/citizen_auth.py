"""Citizen sign-in by SMS code, tokens, and the citizen's own profile: in and out."""
import re

import marshmallow as ma

_CODE_SEPARATORS = re.compile(r"[\s\-]+")


class OtpRequestSchema(ma.Schema):
    phone = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32),
                             metadata={"example": "0912 345 678"})


class OtpSentSchema(ma.Schema):
    phone = ma.fields.String(metadata={"description": "The number in E.164, as the code went to it",
                                       "example": "+84912345678"})
    expires_at = ma.fields.AwareDateTime(metadata={"description": "When the code stops working"})


class SixDigitCode(ma.fields.String):
    """Six digits; spaces or a dash between them (as some apps show the code) are dropped."""

    def _deserialize(self, value, attr, data, **kwargs):
        code = _CODE_SEPARATORS.sub("", super()._deserialize(value, attr, data, **kwargs))
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise ma.ValidationError("The code is six digits.")
        return code


class OtpVerifySchema(ma.Schema):
    phone = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32),
                             metadata={"example": "+84912345678"})
    code = SixDigitCode(required=True, metadata={"example": "123456"})


class RefreshSchema(ma.Schema):
    refresh_token = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4096))


class CitizenProfileSchema(ma.Schema):
    """A citizen as they see themselves."""

    id = ma.fields.Integer()
    phone = ma.fields.String()
    role = ma.fields.String()
    full_name = ma.fields.String(allow_none=True)


class TokenPairSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    refresh_token = ma.fields.String(required=True)
    token_type = ma.fields.String(dump_default="Bearer")
    expires_at = ma.fields.AwareDateTime(metadata={"description": "When the access token expires"})
    refresh_expires_at = ma.fields.AwareDateTime(
        metadata={"description": "When the refresh token expires"})
    user = ma.fields.Nested(CitizenProfileSchema)


class ProfileUpdateSchema(ma.Schema):
    full_name = ma.fields.String(required=True, allow_none=True,
                                 validate=ma.validate.Length(max=400),
                                 metadata={"description": "null removes the name",
                                           "example": "Nguyễn Thị Lan"})
