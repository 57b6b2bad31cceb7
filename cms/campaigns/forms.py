"""Campaign forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from cms.forms import Form
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from cms.services.channels import CHANNELS


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CampaignForm(Form):
    title = TextAreaField(_l("Title"), validators=[DataRequired(), Length(max=2000)])
    plan_id = SelectField(_l("Plan"), coerce=int, validators=[Optional()])
    number = IntegerField(_l("Order number in the plan"), validators=[Optional(), NumberRange(min=1, max=100000)])
    lead_unit = StringField(_l("Lead unit"), validators=[Length(max=500)])
    partner_units = TextAreaField(_l("Coordinating units (one per line)"), validators=[Length(max=10000)])
    form_text = TextAreaField(_l("Forms of delivery"), validators=[Length(max=20000)])
    channels = MultiCheckboxField(_l("Channels"), choices=[(c, c) for c in CHANNELS], validate_choice=True)
    period_text = StringField(_l("Period (as written in the plan)"), validators=[Length(max=300)])
    period_start = DateField(_l("Starts on"), validators=[Optional()])
    period_end = DateField(_l("Ends on"), validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)])


class TransitionForm(Form):
    to_status = SelectField(_l("New status"), choices=[])
    note = TextAreaField(_l("Note"), validators=[Length(max=1000)])
