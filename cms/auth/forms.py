"""Sign-in and language forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from cms.forms import Form
from wtforms import EmailField, HiddenField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length

from cms.i18n import LANGUAGES


class LoginForm(Form):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class LanguageForm(Form):
    lang = SelectField(_l("Language"), choices=list(LANGUAGES.items()))
    next = HiddenField()
