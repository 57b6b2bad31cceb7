"""Media library forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import FloatField, HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from cms.forms import Form

COLOUR = Regexp(r"^#[0-9A-Fa-f]{6}$", message=_l("Colours are written #RRGGBB."))


class UploadForm(Form):
    """The form without JavaScript; with it, files go one request each with a progress bar."""

    files = MultipleFileField(_l("Files (videos MP4, WebM, MOV; pictures JPEG, PNG, WebP)"))
    as_banner = SelectField(_l("Pictures are"), choices=[("poster", _l("Posters")), ("banner", _l("Banners"))])


class BannerForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text"), validators=[Length(max=1000)])
    text_color = StringField(_l("Text colour"), default="#FFFFFF", validators=[DataRequired(), COLOUR])
    background_color = StringField(_l("Background colour"), default="#0F6B4A", validators=[DataRequired(), COLOUR])


class FitForm(Form):
    fit_mode = SelectField(_l("Fit on the board"), choices=[
        ("contain", _l("Whole picture, with bands (contain)")),
        ("cover", _l("Fill the board, crop around the focal point (cover)")),
        ("stretch", _l("Stretch to the board")),
    ])
    focal_x = FloatField(_l("Focal point across (0–1)"), validators=[Optional(), NumberRange(min=0, max=1)])
    focal_y = FloatField(_l("Focal point down (0–1)"), validators=[Optional(), NumberRange(min=0, max=1)])
    background = StringField(_l("Band colour"), validators=[DataRequired(), COLOUR])


class StatusForm(Form):
    to_status = HiddenField()
    seen = HiddenField()  # the revision the person looked at
    reason = TextAreaField(_l("Reason (needed to reject)"), validators=[Length(max=2000)])


class ReplaceForm(Form):
    file = FileField(_l("New file"), validators=[FileRequired()])
