"""Own account: password and API tokens."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from cms.forms import Form
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class PasswordForm(Form):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new = PasswordField(_l("New password (at least 12 characters)"), validators=[DataRequired(), Length(max=1024)])
    repeat = PasswordField(_l("New password again"), validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))])


class TokenForm(Form):
    name = StringField(_l("Token name (what it is for)"), validators=[DataRequired(), Length(max=100)])


class RevokeForm(Form):
    pass
