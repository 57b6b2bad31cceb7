"""Board forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from cms.forms import Form
from display_adapters.options import KINDS


class ScreenForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    code = StringField(_l("Code (empty: made for you)"), validators=[Length(max=40)])
    group_name = StringField(_l("Group (district or site)"), validators=[Length(max=200)])
    address = TextAreaField(_l("Address"), validators=[Length(max=500)])
    latitude = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(min=-90, max=90)])
    longitude = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(min=-180, max=180)])
    width = IntegerField(_l("Width (pixels)"), validators=[DataRequired(), NumberRange(min=16, max=7680)])
    height = IntegerField(_l("Height (pixels)"), validators=[DataRequired(), NumberRange(min=16, max=4320)])
    pixel_pitch_mm = FloatField(_l("Pixel pitch (mm)"), default=10.0, validators=[DataRequired(), NumberRange(min=0.1, max=100)])
    viewing_distance_m = FloatField(_l("Typical viewing distance (m)"), default=50.0, validators=[DataRequired(), NumberRange(min=1, max=2000)])
    hours = StringField(_l("Operating hours"), default="05:30-22:00", validators=[DataRequired(), Length(max=20)])
    timezone = StringField(_l("Time zone"), default="Asia/Ho_Chi_Minh", validators=[DataRequired(), Length(max=64)])
    adapter_kind = SelectField(_l("Kind of board"), choices=[(k, k) for k in KINDS])
    adapter_options = TextAreaField(_l("Options of the kind (one KEY=VALUE a line)"), validators=[Length(max=4000)])


class EditScreenForm(ScreenForm):
    active = BooleanField(_l("In service (out of service: no manifests, its calls refused)"))


class RotateForm(Form):
    pass


class ScreenshotRequestForm(Form):
    pass


class FallbackForm(Form):
    playlist_id = SelectField(_l("Fallback playlist"), coerce=int)
