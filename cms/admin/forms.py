"""Administration forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from cms.forms import Form
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from cms.config import ROLES


class NewUserForm(Form):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    display_name = StringField(_l("Name"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=[(r, r) for r in ROLES])


class EditUserForm(Form):
    role = SelectField(_l("Role"), choices=[(r, r) for r in ROLES])
    active = BooleanField(_l("Account active"))


class ResetPasswordForm(Form):
    pass
