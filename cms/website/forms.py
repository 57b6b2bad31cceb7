"""Website forms. The service checks the values (lengths, media, moves); these carry them."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from cms.forms import Form


class PostForm(Form):
    title = StringField(_l("Title"))
    summary = TextAreaField(_l("Summary"))
    body = TextAreaField(_l("Text (a blank line between paragraphs)"))
    media = SelectMultipleField(_l("Media shown with the post"), coerce=int, validate_choice=False,
                                option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))


class MoveForm(Form):
    to = HiddenField()
    reason = StringField(_l("Reason"), validators=[Optional()])
    publish_at = StringField(_l("Publish at (leave empty for now)"), validators=[Optional()])


class WebsiteForm(Form):
    """Put a medium on its campaign's public page, or take it off."""

    public = HiddenField()
