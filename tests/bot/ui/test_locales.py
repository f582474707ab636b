"""Locale style: the rules of docs/locales.md that a machine can check, in both languages.

Same keys and placeholders in both catalogs, and every key the code uses, are checked in ``test_i18n.py`` beside it;
this module checks how the texts are written: which verb asks for what, buttons, quotes, terms, endings, alerts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.ui.i18n import LANGUAGES, Language, Texts, load_catalog
from contracts.text import MAX_NAME_LENGTH, MAX_TYPE_TITLE_LENGTH

RU, EN = load_catalog("ru"), load_catalog("en")
BOT_DIR = Path(__file__).resolve().parents[3] / "bot"

# Texts shown on inline buttons (keyboards.py).
BUTTON_KEYS = frozenset(
    {
        "menu.add",
        "menu.browse",
        "menu.search",
        "menu.language",
        "menu.help",
        "common.cancel",
        "common.menu",
        "common.open",
        "common.retry",
        "add.use_suggestion",
        "browse.type_button",
        "card.move",
        "move.new_type",
        "type.rename",
        "type.delete",
        "type.open",
        "browse.prev",
        "browse.next",
        "browse.to_types",
        "card.get",
        "card.link",
        "card.rename",
        "card.add_page",
        "card.delete",
        "card.back",
        "delete.yes",
        "delete.no",
        "delete.undo",
        "search.result_button",
        "search.again",
        "menu.expiring",
        "menu.export",
        "card.valid_until",
        "expiry.add",
        "expiry.remove",
        "expiry.button",
    }
)
# Texts that may be a callback alert (answerCallbackQuery: plain text, at most 200 characters): the alerts of
# buttons, and every message of bot.handlers.errors, which answers a pressed button with an alert.
ALERT_KEYS = frozenset(
    {
        "stale.button",
        "card.gone",
        "type.gone",
        "private.button",
        "budget.spent",
        "error.api_down",
        "error.stream_down",
        "error.not_applied",
        "error.busy",
        "error.generic",
    }
)
ALERT_LIMIT = 200
# Descriptions of the commands in Telegram's menu (setMyCommands, bot/ui/commands.py): labels, not sentences.
COMMAND_KEYS = frozenset(key for key in EN if key.startswith("commands."))
# Pieces other texts interpolate (sizes): not sentences.
FRAGMENT_KEYS = frozenset(
    {
        "size.b",
        "size.kb",
        "size.mb",
        "size.gb",
        "card.photo",
        "card.no_file_name",
        "card.format_unknown",
        "card.valid_until_line",
        "card.valid_until_past",
        "forget.word",
    }
)
# Messages that ask for a file ("Пришлите …" / "send …").
FILE_KEYS = frozenset(
    {
        "add.ask_file",
        "add.not_a_file",
        "album.too_many",
        "album.not_files",
        "album.busy",
        "album.interrupted",
        "album.not_now",
        "pages.ask",
        "add.too_big",
        "add.download_failed",
        "input.unsupported",
        "help.text",
        "add.photo_hint",
    }
)
# Messages that ask for typed text ("Напишите …" / "type …", never "send").
TYPED_KEYS = frozenset(
    {
        "add.ask_type",
        "add.ask_type_first",
        "move.ask_title",
        "type.rename_ask",
        "add.ask_name",
        "add.name_taken",
        "name.empty",
        "name.too_long",
        "type.empty",
        "type.too_long",
        "rename.ask",
        "rename.taken",
        "search.ask",
        "search.empty_query",
    }
)
# Words a careful Russian editor strikes out: calques, bureaucratese, spellings without ё.
RU_FORBIDDEN = re.compile(
    r"(?i)в два касания|в один клик|прогресс|на моей стороне|являет|осуществ|данн(?:ый|ого|ом)\b|имеет место"
    r"|\b(?:еще|все равно|сохранен|удален|нашел)\b"
)
# The bot has no gender: no first-person past tense.
RU_GENDERED = re.compile(r"(?i)\b(?:я\s+)?(?:понял|смог|нашёл|сохранил|получил|запомнил|удалил|отправил)а?\b")
# One term per concept (docs/locales.md, glossary): a type is «раздел» in Russian, "type" in English.
RU_OFF_GLOSSARY = re.compile(r"(?i)\b(?:тип(?:а|е|ом|ы|ов|ам|ами|ах|у)?|категори\w*|папк\w*)\b")
EN_OFF_GLOSSARY = re.compile(r"(?i)\b(?:categor\w*|folders?|sections?)\b")
# A quoted name cannot take a case ending: a noun goes between a preposition and it ("в разделе «Паспорт»").
RU_PREPOSITION_BEFORE_QUOTE = re.compile(
    r"(?i)(?<!\w)(?:в|во|из|на|для|о|об|к|ко|с|со|по|у|от|до|за|при|про|среди|без)\s+«"
)
RU_ALLOWED_LATIN = frozenset({"Telegram"})
# Where a message names a button, the quoted text is that button's label.
BUTTON_MENTIONS = {
    "ru": re.compile(r"(?:нажмите|кнопка)\s+«([^»]+)»"),
    "en": re.compile(r"(?:tap|the)\s+“([^”]+)”"),
}
SENTENCE_END = ".!?:…"
SAMPLE_VALUES = {"minutes": 60, "name": "Я" * MAX_NAME_LENGTH}


def _without_markup(text: str) -> str:
    """The words a person reads: no HTML tags, placeholders or /commands."""
    return re.sub(r"<[^>]+>|\{[^}]*\}|/[a-z]+", " ", text)


def _label(text: str) -> str:
    """A button's words without the emoji or arrows around them: "🔁 Повторить" -> "Повторить"."""
    return re.sub(r"^[^\w{«“]+|[^\w}»”]+$", "", text)


def _ending(text: str) -> str:
    last = text.rstrip()[-1]
    return last if last in SENTENCE_END else ""


def test_locale_key_lists_name_keys_of_the_catalog_when_compared() -> None:
    listed = BUTTON_KEYS | ALERT_KEYS | FILE_KEYS | TYPED_KEYS | FRAGMENT_KEYS
    assert not listed - set(EN)
    assert not FILE_KEYS & TYPED_KEYS


@pytest.mark.parametrize("language", LANGUAGES)
def test_locale_has_no_empty_text_when_loaded(language: Language) -> None:
    assert [key for key, text in load_catalog(language).items() if not text.strip()] == []


def test_russian_says_prishlite_only_when_a_key_asks_for_a_file() -> None:
    asking = {key for key, text in RU.items() if re.search(r"(?i)\bпришлите\b|\bприслать\b", text)}
    assert asking <= FILE_KEYS
    assert {key for key in FILE_KEYS if "пришлите" in RU[key].lower()} == FILE_KEYS


def test_russian_says_napishite_when_a_key_asks_for_typed_text() -> None:
    assert [key for key in sorted(TYPED_KEYS) if "напишите" not in RU[key].lower()] == []


def test_english_never_says_send_when_a_key_asks_for_typed_text() -> None:
    assert [key for key in sorted(TYPED_KEYS) if re.search(r"(?i)\bsend\b", EN[key])] == []
    assert [key for key in sorted(FILE_KEYS) if not re.search(r"(?i)\bsend\b", EN[key])] == []


def test_russian_buttons_say_otmena_only_when_the_button_cancels() -> None:
    assert [key for key in sorted(BUTTON_KEYS - {"common.cancel"}) if "отмен" in RU[key].lower()] == []
    assert _label(RU["common.cancel"]) == "Отмена"


@pytest.mark.parametrize("language", LANGUAGES)
def test_messages_quote_a_real_button_label_when_they_name_a_button(language: Language) -> None:
    catalog = load_catalog(language)
    labels = {_label(catalog[key]) for key in BUTTON_KEYS}
    mentions = {(key, label) for key, text in catalog.items() for label in BUTTON_MENTIONS[language].findall(text)}
    assert len(mentions) >= 4  # the patterns really find the mentions
    assert [(key, label) for key, label in sorted(mentions) if label not in labels] == []


def test_russian_has_no_calques_when_an_editor_reads_it() -> None:
    assert [(key, match) for key, text in RU.items() for match in RU_FORBIDDEN.findall(text)] == []


def test_russian_uses_no_gendered_first_person_when_the_bot_speaks() -> None:
    assert [(key, match) for key, text in RU.items() for match in RU_GENDERED.findall(text)] == []


@pytest.mark.parametrize(
    ("language", "off_glossary"), [("ru", RU_OFF_GLOSSARY), ("en", EN_OFF_GLOSSARY)], ids=["ru", "en"]
)
def test_locale_uses_one_term_per_concept_when_it_names_types(
    language: Language, off_glossary: re.Pattern[str]
) -> None:
    assert [(key, text) for key, text in load_catalog(language).items() if off_glossary.search(text)] == []


def test_russian_quotes_with_guillemets_when_a_name_is_quoted() -> None:
    assert [key for key, text in RU.items() if re.search('["“”„]', text)] == []


def test_english_quotes_with_curly_quotes_when_a_name_is_quoted() -> None:
    assert [key for key, text in EN.items() if re.search('["«»„]', _without_markup(text))] == []
    assert [key for key, text in EN.items() if text.count("“") != text.count("”")] == []


def test_russian_puts_a_noun_before_a_quoted_name_when_a_preposition_governs_it() -> None:
    assert [(key, text) for key, text in RU.items() if RU_PREPOSITION_BEFORE_QUOTE.search(text)] == []


def test_russian_has_no_english_words_when_brands_are_set_aside() -> None:
    latin = {(key, word) for key, text in RU.items() for word in re.findall("[A-Za-z]+", _without_markup(text))}
    assert {(key, word) for key, word in latin if word not in RU_ALLOWED_LATIN} == set()


def test_russian_writes_vy_in_lowercase_when_it_is_not_the_first_word() -> None:
    capital = re.compile(r"(?<![.!?]\s)(?<!^)(?<!\n)\b(?:Вы|Вас|Вам|Вами|Ваш\w*)\b")
    assert [(key, text) for key, text in RU.items() if capital.search(text)] == []


@pytest.mark.parametrize("key", sorted(EN))
def test_locales_end_alike_when_a_key_is_translated(key: str) -> None:
    assert _ending(EN[key]) == _ending(RU[key])
    ends_with_value = EN[key].rstrip().endswith("}")
    if key not in BUTTON_KEYS | FRAGMENT_KEYS | COMMAND_KEYS and not ends_with_value:
        assert _ending(EN[key]), "a message ends its last sentence"


@pytest.mark.parametrize("language", LANGUAGES)
def test_buttons_are_short_in_sentence_case_when_shown(language: Language) -> None:
    catalog = load_catalog(language)
    for key in sorted(BUTTON_KEYS):
        words = re.findall(r"\w+", re.sub(r"«[^»]*»|“[^”]*”", " ", _without_markup(catalog[key])))
        assert [word for word in words[1:] if word[0].isupper()] == [], key
        assert not _ending(catalog[key]) and len(catalog[key]) <= 24, key


@pytest.mark.parametrize("key", sorted(BUTTON_KEYS))
def test_buttons_carry_the_same_symbols_when_translated(key: str) -> None:
    def symbols(text: str) -> tuple[str, str]:
        label = _label(text)
        before, _, after = text.partition(label)
        return before, after

    assert symbols(EN[key]) == symbols(RU[key])


@pytest.mark.parametrize("key", sorted(EN))
def test_locales_use_the_same_html_when_a_key_is_translated(key: str) -> None:
    assert re.findall(r"</?\w+>", EN[key]) == re.findall(r"</?\w+>", RU[key])


@pytest.mark.parametrize("language", LANGUAGES)
def test_alerts_are_plain_and_fit_telegram_when_values_are_long(language: Language) -> None:
    tr = Texts(language)
    for key in sorted(ALERT_KEYS):
        text = tr.plain(key, **SAMPLE_VALUES)
        assert "<" not in text and len(text) <= ALERT_LIMIT, key


def _genitive_of_characters(number: int) -> str:
    """«не больше N …»: the whole phrase is genitive; only numbers ending in one (not eleven) take the singular."""
    return "символа" if number % 10 == 1 and number % 100 != 11 else "символов"


@pytest.mark.parametrize(
    ("key", "limit"), [("name.too_long", MAX_NAME_LENGTH), ("type.too_long", MAX_TYPE_TITLE_LENGTH)]
)
def test_russian_noun_agrees_with_the_number_when_a_limit_is_shown(key: str, limit: int) -> None:
    assert f"не больше {limit} {_genitive_of_characters(limit)}" in Texts("ru")(key, max=limit)


def _registered_commands() -> set[str]:
    """The commands the bot's routers register (read as text, so it holds wherever the handlers move)."""
    found: set[str] = set()
    for path in BOT_DIR.rglob("*.py"):
        code = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'Command\("(\w+)"\)', code)) | ({"start"} if "CommandStart()" in code else set())
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_help_lists_every_command_when_the_bot_registers_it(language: Language) -> None:
    commands = _registered_commands()
    assert len(commands) >= 5  # the scan really found the routers
    listed = set(re.findall(r"(?<![<\w])/(\w+)", load_catalog(language)["help.text"]))
    assert listed == commands
