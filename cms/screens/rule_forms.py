"""Schedule rule forms. The rule service checks the values; these carry what a person typed."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, FloatField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from cms.campaigns.forms import MultiCheckboxField
from cms.forms import Form

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday"))
WEEKDAYS_SHORT = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


class RuleForm(Form):
    playlist_id = SelectField(_l("Playlist"), coerce=int, validators=[InputRequired()])
    board_ids = MultiCheckboxField(_l("Boards"), coerce=int)
    groups = MultiCheckboxField(_l("Board groups (every board of the group, also ones added later)"))
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("Until"), validators=[Optional()])
    weekdays = MultiCheckboxField(_l("Weekdays"), coerce=int, default=list(range(7)),
                                  validators=[DataRequired(message=_l("Choose at least one weekday."))],
                                  choices=[(number, name) for number, name in enumerate(WEEKDAYS)])
    windows = StringField(_l("Daily time windows"), validators=[Length(max=500)])
    priority = IntegerField(_l("Priority"), default=0, validators=[InputRequired()])
    quota = RadioField(_l("How much airtime"), default="fill", choices=[
        ("fill", _l("Fill the free time of the windows")),
        ("plays_per_hour", _l("A number of plays per hour")),
        ("share_of_voice", _l("A share of each hour's airtime")),
    ])
    plays_per_hour = IntegerField(_l("Plays per hour"), validators=[Optional()])
    share_percent = FloatField(_l("Share of voice (%)"), validators=[Optional()])
    interrupt = BooleanField(_l("Emergency interrupt: takes the whole screen in its windows"))
    note = TextAreaField(_l("Note"), validators=[Length(max=500)])

    def validate(self, extra_validators: Any = None) -> bool:
        """The number of the chosen kind of airtime is needed (an empty field is otherwise optional)."""
        ok = super().validate(extra_validators)
        if self.quota.data == "plays_per_hour" and self.plays_per_hour.data is None and not self.plays_per_hour.errors:
            self.plays_per_hour.errors = [*self.plays_per_hour.errors, _l("Enter how many plays per hour.")]
            ok = False
        if self.quota.data == "share_of_voice" and self.share_percent.data is None and not self.share_percent.errors:
            self.share_percent.errors = [*self.share_percent.errors, _l("Enter the share of airtime in per cent.")]
            ok = False
        return ok


class ActionForm(Form):
    """A button with its CSRF token: approve, delete."""
