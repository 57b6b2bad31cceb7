"""The Vietnamese catalogue covers every string the UI can show.

The UI is Vietnamese by default and its source strings are English msgids, so any
msgid without a Vietnamese translation shows up as English to the department's
staff. These tests extract the msgids from the source tree the way
`make extract-messages` does (babel.cfg, the default keywords plus the Makefile's
`-k` keywords, which name the domain errors whose first argument is shown to users)
and compare them with cms/translations/vi/LC_MESSAGES/messages.po.

When one fails after you add or change a string: run `make extract-messages`
(or the same `pybabel extract` from the repository root), translate the new entries
in the .po file, and remove their "fuzzy" flags.
"""
from __future__ import annotations

import ast
import re
import shlex
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.pofile import read_po

try:  # Babel >= 2.15
    from babel.messages.frontend import parse_mapping_cfg as _parse_mapping
except ImportError:  # pragma: no cover - older Babel
    from babel.messages.frontend import parse_mapping as _parse_mapping

REPO = Path(__file__).resolve().parents[2]
SOURCE_DIR = "cms"
VI_PO = REPO / "cms" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
DOMAIN_ERROR_BASE = "PanoledError"

# %(name)s, %(num)d, %s, %5.2f ... as Python's % operator reads them; %% is a literal percent.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?(?P<flags>[#0\- +]*)(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
SAMPLE_VALUES = {"d": 7, "i": 7, "o": 7, "u": 7, "x": 7, "X": 7, "c": 65,
                 "e": 1.5, "E": 1.5, "f": 1.5, "F": 1.5, "g": 1.5, "G": 1.5,
                 "s": "x", "r": "x", "a": "x"}


# --------------------------------------------------------------------------- helpers


def _makefile_keywords() -> list[str]:
    """The `-k` keywords of the Makefile's extract-messages recipe, so the two stay in step."""
    text = (REPO / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    recipe = re.search(r"^extract-messages:.*\n((?:\t.*\n?)+)", text, re.MULTILINE)
    assert recipe, "the Makefile has no extract-messages target"
    for line in recipe.group(1).splitlines():
        words = shlex.split(line)
        if any(word.endswith("pybabel") for word in words) and "extract" in words:
            return [words[i + 1] for i, word in enumerate(words[:-1]) if word in ("-k", "--keyword")]
    raise AssertionError("the extract-messages recipe has no `pybabel extract` command")


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    with (REPO / "babel.cfg").open(encoding="utf-8") as fileobj:
        return _parse_mapping(fileobj, filename=str(REPO / "babel.cfg"))


def _only_source_dir(dirpath: str) -> bool:
    """Walk the repository root (babel.cfg's patterns start with cms/) but only descend into cms."""
    relative = Path(dirpath).resolve().relative_to(REPO).parts
    if relative and relative[0] != SOURCE_DIR:
        return False
    return not any(part.startswith((".", "_")) for part in relative)


def _extract() -> Catalog:
    """The msgids `pybabel extract -F babel.cfg -k ... .` writes to the template, as a catalogue."""
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update(parse_keywords(_makefile_keywords()))
    method_map, options_map = _method_map()
    template = Catalog(locale=None)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=keywords, directory_filter=_only_source_dir,
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


@pytest.fixture(scope="module")
def source_messages() -> list[Message]:
    return [message for message in _extract() if message.id]


@pytest.fixture(scope="module")
def vi_catalogue() -> Catalog:
    with VI_PO.open("rb") as fileobj:
        return read_po(fileobj, locale="vi")


def _forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _placeholders(text: str) -> Counter[tuple[str | None, str]]:
    return Counter((m["name"], m["conv"]) for m in PLACEHOLDER.finditer(text) if m["conv"] != "%")


def _where(message: Message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations[:2])


def _translation(vi_catalogue: Catalog, message: Message) -> Message | None:
    return vi_catalogue.get(message.id, message.context)


# --------------------------------------------------------------------------- tests


def test_the_extraction_finds_the_ui_strings(source_messages: list[Message]) -> None:
    """Guards the other tests: an extraction that finds nothing would make them pass vacuously."""
    ids = {_forms(message.id)[0] for message in source_messages}
    for expected in ("Sign in", "Lead unit", "M%(month)d", "The e-mail or password is not right.",
                     "Panoled LED boards", "%(num)d campaign"):
        assert expected in ids, f"{expected!r} was not extracted; check babel.cfg and the keywords"


def test_every_ui_string_has_a_vietnamese_translation(
    source_messages: list[Message], vi_catalogue: Catalog
) -> None:
    untranslated = []
    for message in source_messages:
        entry = _translation(vi_catalogue, message)
        forms = _forms(entry.string) if entry is not None else []
        if not forms or not all(form.strip() for form in forms):
            untranslated.append(f"{_forms(message.id)[0]!r} ({_where(message)})")
    assert not untranslated, (
        f"{len(untranslated)} UI string(s) would show in English to Vietnamese users; "
        "run `make extract-messages` and translate them in " + str(VI_PO.relative_to(REPO)) + ":\n  "
        + "\n  ".join(untranslated)
    )


def test_no_vietnamese_translation_is_marked_fuzzy(source_messages: list[Message], vi_catalogue: Catalog) -> None:
    # pybabel compile skips fuzzy entries, and a fuzzy header skips the whole catalogue.
    assert not vi_catalogue.fuzzy, "the catalogue header is marked fuzzy, so none of it would be compiled"
    fuzzy = [f"{_forms(m.id)[0]!r}" for m in source_messages
             if (entry := _translation(vi_catalogue, m)) is not None and entry.fuzzy]
    assert not fuzzy, "fuzzy translations are not used; check and unflag:\n  " + "\n  ".join(fuzzy)


def test_vietnamese_translations_keep_every_placeholder_of_the_english(
    source_messages: list[Message], vi_catalogue: Catalog
) -> None:
    mismatched = []
    for message in source_messages:
        entry = _translation(vi_catalogue, message)
        if entry is None:
            continue
        english = _forms(message.id)
        expected = _placeholders(english[-1])  # the plural form names every value ngettext passes
        for form in _forms(entry.string):
            if form and _placeholders(form) != expected:
                mismatched.append(f"{english[0]!r} -> {form!r}")
    assert not mismatched, "placeholders differ between English and Vietnamese:\n  " + "\n  ".join(mismatched)


def test_vietnamese_translations_format_with_the_values_the_english_takes(
    source_messages: list[Message], vi_catalogue: Catalog
) -> None:
    """Templates always apply `%` (Jinja's newstyle gettext), so a stray % would be a server error."""
    broken = []
    for message in source_messages:
        entry = _translation(vi_catalogue, message)
        if entry is None:
            continue
        english = _forms(message.id)[-1]
        values = {m["name"]: SAMPLE_VALUES[m["conv"]] for m in PLACEHOLDER.finditer(english)
                  if m["name"] and m["conv"] != "%"}
        try:
            english % values
        except (KeyError, ValueError, TypeError):
            continue  # not a format string in English either (e.g. positional %s)
        for form in _forms(entry.string):
            try:
                form % values
            except (KeyError, ValueError, TypeError) as error:
                broken.append(f"{form!r}: {error}")
    assert not broken, "these translations cannot be filled in:\n  " + "\n  ".join(broken)


def test_vietnamese_catalogue_compiles_without_warnings(vi_catalogue: Catalog) -> None:
    """The checks `pybabel compile` runs: python-format placeholders and the number of plural forms."""
    assert vi_catalogue.num_plurals == 1, "Vietnamese has a single plural form (nplurals=1)"
    problems = [f"{_forms(message.id)[0]!r}: {'; '.join(map(str, errors))}"
                for message, errors in vi_catalogue.check()]
    assert not problems, "\n  ".join(["pybabel compile would warn about:", *problems])


def test_vietnamese_text_uses_composed_diacritics(vi_catalogue: Catalog) -> None:
    """NFC, as Vietnamese keyboards and the plan documents produce: decomposed text looks the same
    but does not match in search, sorting or string comparisons."""
    decomposed = [form for message in vi_catalogue if message.id for form in _forms(message.string)
                  if form != unicodedata.normalize("NFC", form)]
    assert not decomposed, "not in NFC:\n  " + "\n  ".join(map(repr, decomposed))


def test_every_domain_error_message_is_extracted_for_translation() -> None:
    """A domain error's first argument is shown translated; its class must be an extraction keyword."""
    classes: dict[str, list[str]] = {}
    for path in (REPO / SOURCE_DIR).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                classes[node.name] = bases
    errors = {DOMAIN_ERROR_BASE}
    while True:
        more = {name for name, bases in classes.items() if name not in errors and errors.intersection(bases)}
        if not more:
            break
        errors |= more
    missing = sorted(errors - set(_makefile_keywords()))
    assert not missing, (
        "messages of these domain errors are never extracted; add `-k NAME` to the Makefile's "
        f"extract-messages recipe: {', '.join(missing)}"
    )


def test_the_shipped_compiled_catalogue_matches_the_po_file() -> None:
    """The .mo file is committed so an install from a plain checkout speaks Vietnamese;
    it must say exactly what the .po file says (run `make translations` after editing)."""
    from babel.messages.mofile import read_mo

    mo_path = VI_PO.with_suffix(".mo")
    assert mo_path.exists(), "run `make translations` and commit the .mo file"
    with VI_PO.open("rb") as po_file, mo_path.open("rb") as mo_file:
        po, mo = read_po(po_file), read_mo(mo_file)
    as_key = lambda value: tuple(value) if isinstance(value, (list, tuple)) else value  # noqa: E731
    po_entries = {as_key(m.id): as_key(m.string) for m in po if m.id and not m.fuzzy}
    mo_entries = {as_key(m.id): as_key(m.string) for m in mo if m.id}
    assert mo_entries == po_entries
