"""Tweet and Reddit normalisation: a small, switchable replacement for the ekphrasis pipeline."""

from __future__ import annotations

import re
from collections.abc import Iterable

import emoji
from pydantic import BaseModel, ConfigDict, Field

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
    demojize: bool = True
    users: bool = True
    urls: bool = True
    emails: bool = True
    phones: bool = True
    hashtags: bool = True
    lowercase: bool = True
    collapse_whitespace: bool = True


DEFAULT_CONFIG = PreprocessConfig()


def _emoji_to_words(chars: str, _data: dict[str, object]) -> str:
    # Demojizing one emoji at a time confines the "_" -> " " rewrite to emoji names.
    return emoji.demojize(chars, delimiters=(" ", " ")).replace("_", " ")


def _demojize(text: str) -> str:
    return emoji.replace_emoji(text, replace=_emoji_to_words)


def _boundary(prev: str, cur: str, nxt: str) -> bool:
    """Whether a hashtag word break falls between ``prev`` and ``cur``."""
    if prev.isdigit() != cur.isdigit():
        return prev.isalpha() or cur.isalpha()
    if prev.islower() and cur.isupper():
        return True
    # Acronym followed by a word: "NYCMarathon" -> "NYC Marathon".
    return prev.isupper() and cur.isupper() and nxt.islower()


def _split_hashtag(body: str) -> str:
    words: list[str] = []
    for part in body.split("_"):
        current = part[:1]
        for i in range(1, len(part)):
            nxt = part[i + 1] if i + 1 < len(part) else ""
            if _boundary(part[i - 1], part[i], nxt):
                words.append(current)
                current = ""
            current += part[i]
        words.append(current)
    return " ".join(word for word in words if word)


def _hashtags(text: str) -> str:
    return _HASHTAG_RE.sub(lambda match: _split_hashtag(match.group(1)), text)


def _reddit(text: str) -> str:
    # GoEmotions masks names and religions; a masked name plays the part of a tweet's mention.
    text = text.replace("[NAME]", "@name").replace("[RELIGION]", "religion")
    text = _REDDIT_USER_RE.sub("@user", text)
    return _SUBREDDIT_RE.sub(r"subreddit \1", text)


def preprocess(text: str, config: PreprocessConfig = DEFAULT_CONFIG) -> str:
    """Normalise one tweet or Reddit comment according to ``config``."""
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
        text = _hashtags(text)
    # Late, so emoji names ("keycap 1", "keycap #") cannot be mistaken for phones or hashtags.
    if config.demojize:
        text = _demojize(text)
    if config.lowercase:
        text = text.lower()
    if config.collapse_whitespace:
        text = _WHITESPACE_RE.sub(" ", text)
    return text.strip()


def preprocess_many(texts: Iterable[str], config: PreprocessConfig = DEFAULT_CONFIG) -> list[str]:
    """Normalise every text in ``texts`` with the same ``config``."""
    return [preprocess(text, config) for text in texts]
