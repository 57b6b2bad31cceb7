"""Plan import forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from cms.forms import Form
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, StringField
from wtforms.validators import Length


class PlanUploadForm(Form):
    file = FileField(_l("Plan file (.docx, .xlsx, .csv, .tsv or .txt)"), validators=[FileRequired()])
    number = StringField(_l("Plan number, if the file does not state it (e.g. 81/KH-STNMT)"), validators=[Length(max=60)])


class PlanConfirmForm(Form):
    token = HiddenField()
