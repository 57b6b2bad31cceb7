"""Playlist forms. The service checks the values (durations, names); these only carry them."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import FloatField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from cms.forms import Form


class PlaylistForm(Form):
    name = StringField(_l("Name of the playlist"), validators=[DataRequired(), Length(max=200)])


class AddItemForm(Form):
    asset_id = IntegerField(_l("Media"), validators=[DataRequired()])


class DurationForm(Form):
    seconds = FloatField(_l("Seconds"), validators=[Optional()])


class MoveForm(Form):
    direction = SelectField(_l("Move"), choices=[("up", _l("Up")), ("down", _l("Down"))])


class ActionForm(Form):
    """A button with its CSRF token: remove an item, publish."""
