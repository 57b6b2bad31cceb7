"""The base of every form: WTForms' own messages go through the app's catalogue.

WTForms ships no Vietnamese translation, so its validation messages ("This field is
required." ...) are listed below for extraction and translated in our catalogue
like every other string.
"""
from __future__ import annotations

from typing import Any

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_wtf import FlaskForm


class _CatalogueTranslations:
    """What WTForms asks of a translations object, answered from the app's catalogue.

    WTForms fills the placeholders itself, so the strings come back unformatted.
    """

    def gettext(self, string: str) -> str:
        return get_translations().gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ngettext(singular, plural, n)


class Form(FlaskForm):
    class Meta(FlaskForm.Meta):
        def get_translations(self, form: Any) -> _CatalogueTranslations:
            return _CatalogueTranslations()


# The WTForms messages our forms can show, marked here so extraction finds them.
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Not a valid integer value."),
    _l("Not a valid date value."),
    _l("Not a valid choice."),
    _l("'%(value)s' is not a valid choice for this field."),
    _l("'%(value)s' are not valid choices for this field."),
    _l("Invalid Choice: could not coerce."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Field must be equal to %(other_name)s."),
    _l("Invalid input."),
)
WTFORMS_PLURAL_MESSAGES = (
    lazy_ngettext("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters.", 1),
    lazy_ngettext("Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long.", 1),
)
