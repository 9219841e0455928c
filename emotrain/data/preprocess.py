"""Tweet and Reddit normalisation: a small, switchable replacement for the ekphrasis pipeline
(what differs from it, and why: docs/design.md#preprocessing)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

import emoji
import wordsegment
from pydantic import BaseModel, ConfigDict, Field, field_validator

# Combining marks (Latin accents, Arabic harakat) are not ``\w`` in Python's ``re``,
# yet they belong inside a hashtag; without them "#مَرحبا" would be cut after the first letter.
_MARKS = "\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"

# Lazy body plus lookahead keeps trailing sentence punctuation ("see http://x.co.") out of the URL.
_URL_RE = re.compile(
    r"\b(?:https?://|www\.)\S+?(?=[.,;:!?)\]}'\"]*(?:\s|$))",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A word character before "@" means an e-mail or "x@y" text, not a mention.
_USER_RE = re.compile(r"(?<![\w@])@\w+")
# Boundaries stop the match inside decimals ("3.5551234567"), mentions, hashtags and URL paths;
# the digit-group shapes keep years ("2018") and small numbers out. International numbers need
# an explicit "+" and exactly three groups, since a space could also end the number.
_PHONE_RE = re.compile(
    r"(?<![\w.,+#@/])"
    r"(?:"
    r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}"
    r"|\+\d{1,3}(?:[\s.-]?\d{2,4}){3}"
    r")"
    r"(?![\w@]|[.,]\d)"
)
# Requires a letter so "#1" (a rank, not a topic) is left alone; "&#39;"-style entities and
# URL fragments are excluded by the lookbehind.
_HASHTAG_RE = re.compile(rf"(?<![\w#&/])#((?:[\w{_MARKS}])*[^\W\d_](?:[\w{_MARKS}])*)")
_WHITESPACE_RE = re.compile(r"\s+")
# The hashtag parts that word statistics can split: wordsegment's are English letters and
# digits, and it would drop any other character.
_ASCII_WORD_RE = re.compile(r"[A-Za-z0-9]+")
_LETTERS_OR_DIGITS_RE = re.compile(r"[A-Za-z]+|[0-9]+")
# Emoji names per tweet language, as the original chose them for its encoders: English names
# for English, Spanish names for Spanish, and Arabic tweets keep their emoji (None).
DEFAULT_EMOJI_LANGUAGE: dict[str, str | None] = {"english": "en", "spanish": "es", "arabic": None}
# Reddit references ("r/x", "/r/x", "u/x", "/u/x"). The lookbehind keeps them from matching inside
# URLs ("reddit.com/r/x") and words ("owner/manager").
_SUBREDDIT_RE = re.compile(r"(?<![\w/])/?r/(\w+)")
_REDDIT_USER_RE = re.compile(r"(?<![\w/])/?u/[\w-]+")


class PreprocessConfig(BaseModel):
    """Which normalisation steps to apply; every tweet step is on by default, Reddit's is off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reddit: bool = Field(
        default=False,
        description="Reddit text (GoEmotions), before the other steps: [NAME] -> @name and "
        "/u/x -> @user (mentions, so the users step makes both @user), [RELIGION] -> religion, "
        "/r/x -> subreddit x. No dataset turns it on implicitly.",
    )
    demojize: bool = Field(
        default=True,
        description="emoji -> their names (Twitter-native encoders keep emoji: set false)",
    )
    emoji_language: dict[str, str | None] = Field(
        default=DEFAULT_EMOJI_LANGUAGE,
        description="with demojize, the language of the emoji names for tweets of each "
        "language (an emoji package language code, e.g. en, es), or null to keep that "
        "language's emoji; a language left out keeps its default (english en, spanish es, "
        "arabic null)",
    )
    users: bool = Field(default=True, description="@mentions -> @user")
    urls: bool = Field(default=True, description="URLs -> url")
    emails: bool = Field(default=True, description="e-mail addresses -> email")
    phones: bool = Field(default=True, description="phone numbers -> phone")
    hashtags: bool = Field(
        default=True, description="a hashtag becomes its words, without the # (see hashtag_words)"
    )
    hashtag_words: bool = Field(
        default=True,
        description="with hashtags, a hashtag (or its part between underscores) made of English "
        "letters and digits is split into words by word statistics (wordsegment: "
        "#happybirthday -> happy birthday), any other at case and digit changes; false: at "
        "case and digit changes only",
    )
    lowercase: bool = Field(default=True, description="lowercase the text")
    collapse_whitespace: bool = Field(
        default=True, description="runs of whitespace -> one space, and the ends stripped"
    )

    @field_validator("emoji_language")
    @classmethod
    def _known_emoji_languages(cls, chosen: dict[str, str | None]) -> dict[str, str | None]:
        for language, code in chosen.items():
            if language not in DEFAULT_EMOJI_LANGUAGE:
                raise ValueError(
                    f"emoji_language: unknown tweet language {language!r}; "
                    f"the languages are {', '.join(DEFAULT_EMOJI_LANGUAGE)}"
                )
            if code is not None and code not in emoji.LANGUAGES:
                raise ValueError(
                    f"emoji_language.{language}: the emoji package has no names in {code!r}; "
                    f"it has {', '.join(emoji.LANGUAGES)}, or null to keep the emoji"
                )
        return {**DEFAULT_EMOJI_LANGUAGE, **chosen}


DEFAULT_CONFIG = PreprocessConfig()


def _demojize(text: str, language: str) -> str:
    def to_words(chars: str, _data: dict[str, object]) -> str:
        # Demojizing one emoji at a time confines the "_" -> " " rewrite to emoji names.
        names = emoji.demojize(chars, delimiters=(" ", " "), language=language)
        return names.replace("_", " ")

    return emoji.replace_emoji(text, replace=to_words)


@cache
def _word_statistics() -> None:
    """wordsegment's unigram and bigram counts, loaded once per process (they ship with it)."""
    wordsegment.load()


def _words(stretch: str) -> list[str]:
    """``stretch`` (English letters and digits) cut where word statistics put word breaks,
    keeping its characters and their case."""
    _word_statistics()
    pieces, start = [], 0
    for word in wordsegment.segment(stretch):
        pieces.append(stretch[start : start + len(word)])
        start += len(word)
    return pieces


def _boundary(prev: str, cur: str, nxt: str) -> bool:
    """Whether a hashtag word break falls between ``prev`` and ``cur``."""
    if prev.isdigit() != cur.isdigit():
        return prev.isalpha() or cur.isalpha()
    if prev.islower() and cur.isupper():
        return True
    # Acronym followed by a word: "NYCMarathon" -> "NYC Marathon".
    return prev.isupper() and cur.isupper() and nxt.islower()


def _split_hashtag(body: str, by_statistics: bool) -> str:
    """A hashtag's words: at "_", then for a part made of English letters and digits at digit
    changes and by word statistics (``by_statistics``), else at case and digit changes."""
    words: list[str] = []
    for part in body.split("_"):
        if by_statistics and _ASCII_WORD_RE.fullmatch(part):
            # Numbers stand apart; the letters between them are cut by the statistics.
            for run in _LETTERS_OR_DIGITS_RE.findall(part):
                words.extend([run] if run.isdigit() else _words(run))
            continue
        current = part[:1]
        for i in range(1, len(part)):
            nxt = part[i + 1] if i + 1 < len(part) else ""
            if _boundary(part[i - 1], part[i], nxt):
                words.append(current)
                current = ""
            current += part[i]
        words.append(current)
    return " ".join(word for word in words if word)


def _hashtags(text: str, by_statistics: bool) -> str:
    return _HASHTAG_RE.sub(lambda match: _split_hashtag(match.group(1), by_statistics), text)


def _reddit(text: str) -> str:
    # GoEmotions masks names and religions; a masked name plays the part of a tweet's mention.
    text = text.replace("[NAME]", "@name").replace("[RELIGION]", "religion")
    text = _REDDIT_USER_RE.sub("@user", text)
    return _SUBREDDIT_RE.sub(r"subreddit \1", text)


def preprocess(
    text: str, config: PreprocessConfig = DEFAULT_CONFIG, language: str = "english"
) -> str:
    """Normalise one tweet or Reddit comment of ``language`` according to ``config``."""
    if config.reddit:
        text = _reddit(text)
    # URLs first so "@" and "#" inside them are not read as mentions or hashtags, and e-mails
    # before mentions so "a.b@c.org" is not half-replaced with "@user".
    if config.urls:
        text = _URL_RE.sub("url", text)
    if config.emails:
        text = _EMAIL_RE.sub("email", text)
    if config.users:
        text = _USER_RE.sub("@user", text)
    if config.phones:
        text = _PHONE_RE.sub("phone", text)
    # Hashtag splitting needs the original casing, so it precedes lowercasing.
    if config.hashtags:
        text = _hashtags(text, config.hashtag_words)
    # Late, so emoji names ("keycap 1", "keycap #") cannot be mistaken for phones or hashtags.
    emoji_names = config.emoji_language[language]
    if config.demojize and emoji_names is not None:
        text = _demojize(text, emoji_names)
    if config.lowercase:
        text = text.lower()
    if config.collapse_whitespace:
        text = _WHITESPACE_RE.sub(" ", text)
    return text.strip()


def preprocess_many(
    texts: Iterable[str],
    config: PreprocessConfig = DEFAULT_CONFIG,
    languages: str | Sequence[str] = "english",
) -> list[str]:
    """Normalise every text in ``texts`` with the same ``config``; ``languages`` is the texts'
    language, or one per text."""
    texts = list(texts)
    per_text = [languages] * len(texts) if isinstance(languages, str) else languages
    return [
        preprocess(text, config, language) for text, language in zip(texts, per_text, strict=True)
    ]
