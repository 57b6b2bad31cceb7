"""Pages speak the language the person chose, and a part rendered in Vietnamese on purpose
(the website export) stays Vietnamese for an English-speaking user, then the page goes on in
English: the templates' translation lookup is kept per request without losing either."""
from __future__ import annotations

from flask import Flask, render_template_string, session
from flask_babel import force_locale


def test_a_vietnamese_part_inside_an_english_page_and_back(app: Flask) -> None:
    with app.test_request_context("/"):
        session["lang"] = "en"
        assert render_template_string("{{ _('Sign in') }}") == "Sign in"
        with force_locale("vi"):
            assert render_template_string("{{ _('Sign in') }}") == "Đăng nhập"
        assert render_template_string("{{ _('Sign in') }}") == "Sign in"


def test_the_default_language_is_vietnamese_with_plural_forms(app: Flask) -> None:
    with app.test_request_context("/"):
        text = render_template_string(
            "{{ _('Sign in') }} · {{ ngettext('Field cannot be longer than %(max)d character.', "
            "'Field cannot be longer than %(max)d characters.', 5, max=5) }}")
    assert text == "Đăng nhập · Trường này không được dài quá 5 ký tự."
