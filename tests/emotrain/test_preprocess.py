"""Tests for the switchable tweet normaliser."""

import pydantic
import pytest

from emotrain.data.preprocess import PreprocessConfig, preprocess, preprocess_many

# The on/off steps (emoji_language is a mapping, not a switch).
SWITCHES = [
    name for name, field in PreprocessConfig.model_fields.items() if field.annotation is bool
]


def _only_off(step: str) -> PreprocessConfig:
    return PreprocessConfig(**{step: False})


@pytest.mark.parametrize(
    ("step", "text", "on", "off"),
    [
        ("demojize", "so funny 😂", "so funny face with tears of joy", "so funny 😂"),
        ("users", "hi @JohnDoe_99 !", "hi @user !", "hi @johndoe_99 !"),
        ("urls", "see https://t.co/AbC#x now", "see url now", "see https://t.co/abc#x now"),
        ("urls", "visit www.example.com.", "visit url.", "visit www.example.com."),
        ("emails", "write to a.b@c.org", "write to email", "write to a.b@c.org"),
        ("phones", "call +1 555-123-4567", "call phone", "call +1 555-123-4567"),
        ("hashtags", "so #HappyDays", "so happy days", "so #happydays"),
        ("lowercase", "GREAT Day", "great day", "GREAT Day"),
        ("collapse_whitespace", "  a \t\n b  ", "a b", "a \t\n b"),
    ],
)
def test_each_switch_on_and_off(step: str, text: str, on: str, off: str) -> None:
    assert preprocess(text) == on
    assert preprocess(text, _only_off(step)) == off


def test_all_steps_off_only_strips() -> None:
    config = PreprocessConfig(**{name: False for name in SWITCHES})
    text = "  😂 @Bob a.b@c.org +1 555-123-4567 #HappyDays http://x.co  "
    assert preprocess(text, config) == text.strip()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#HappyDays", "happy days"),
        ("#love", "love"),
        ("#NYC2018", "nyc 2018"),
        ("#NYCMarathon", "nyc marathon"),
        ("#happy_days", "happy days"),
        ("#1 fan", "#1 fan"),
    ],
)
def test_hashtag_splitting(text: str, expected: str) -> None:
    assert preprocess(text) == expected


def test_hashtag_keeps_case_when_lowercase_off() -> None:
    assert preprocess("#HappyDays #NYC2018", PreprocessConfig(lowercase=False)) == (
        "Happy Days NYC 2018"
    )


def test_english_tweet() -> None:
    text = "@JohnDoe I can't stop laughing 😂😂 https://t.co/xyz123 #BestDayEver"
    assert preprocess(text) == (
        "@user i can't stop laughing face with tears of joy face with tears of joy"
        " url best day ever"
    )


def test_spanish_tweet() -> None:
    text = "¡Qué día tan bonito! 😍 @maria_lopez #FelizAñoNuevo https://t.co/abc"
    assert preprocess(text) == (
        "¡qué día tan bonito! smiling face with heart-eyes @user feliz año nuevo url"
    )


def test_arabic_tweet() -> None:
    text = "صباح الخير 🌞 @ahmed #السعودية #مَرحبا https://t.co/xyz ٢٠١٨"
    assert preprocess(text) == "صباح الخير sun with face @user السعودية مَرحبا url ٢٠١٨"


def test_arabic_survives_lowercase() -> None:
    text = "أنا سعيد جداً اليوم"
    assert preprocess(text) == text


def test_email_is_not_a_mention() -> None:
    assert preprocess("mail a.b@c.org or @jane") == "mail email or @user"
    # With the e-mail step off the address must stay whole, not become "a.b@user".
    assert preprocess("mail a.b@c.org", PreprocessConfig(emails=False)) == "mail a.b@c.org"


def test_url_wins_over_mention_and_hashtag() -> None:
    assert preprocess("read https://medium.com/@writer/post#top") == "read url"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +1 555-123-4567 now", "call phone now"),
        ("call (555) 123 4567 now", "call phone now"),
        ("call 555.123.4567 now", "call phone now"),
        ("call +44 20 7946 0958", "call phone"),
        ("in 2018 we won 3 games", "in 2018 we won 3 games"),
        ("on 2018-01-01 pi was 3.14", "on 2018-01-01 pi was 3.14"),
        ("1,000,000 fans", "1,000,000 fans"),
    ],
)
def test_phone_vs_plain_numbers(text: str, expected: str) -> None:
    assert preprocess(text) == expected


def test_emoji_underscores_only_in_emoji_names() -> None:
    assert preprocess("snake_case 👍🏽 ❤️") == "snake_case thumbs up medium skin tone red heart"


def test_idempotent_on_clean_text() -> None:
    clean = "@user i love this url so much face with tears of joy"
    assert preprocess(clean) == clean


def test_idempotent_on_own_output() -> None:
    once = preprocess("@Ann 😂 #NYC2018 www.x.com a@b.co +1 555-123-4567")
    assert preprocess(once) == once


def test_empty_string() -> None:
    assert preprocess("") == ""
    assert preprocess("   ") == ""


def test_preprocess_many() -> None:
    config = PreprocessConfig(lowercase=False)
    assert preprocess_many(["Hi @Bob", "#LoveIt"], config) == ["Hi @user", "Love It"]
    assert preprocess_many(iter([])) == []


def test_config_is_strict_and_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        PreprocessConfig(unknown=True)
    config = PreprocessConfig()
    with pytest.raises(pydantic.ValidationError):
        config.users = False


REDDIT = PreprocessConfig(reddit=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[NAME] is right", "@user is right"),
        ("[NAME]'s take on [RELIGION]", "@user's take on religion"),
        ("Happy cake day u/sneakpeekbot!", "happy cake day @user!"),
        ("as /u/Some-User_1 said", "as @user said"),
        ("post it on r/AskReddit", "post it on subreddit askreddit"),
        ("banned from /r/chicagobulls.", "banned from subreddit chicagobulls."),
        ("r/trashy r/iamatotalpieceofshit", "subreddit trashy subreddit iamatotalpieceofshit"),
        ("see https://www.reddit.com/r/x/comments/1 now", "see url now"),
        ("the owner/manager, mr/ms [NAME]", "the owner/manager, mr/ms @user"),
        ("[TEAM] won", "[team] won"),  # only names and religions are masks
    ],
)
def test_reddit_step(text: str, expected: str) -> None:
    assert preprocess(text, REDDIT) == expected


def test_reddit_step_alone_makes_mentions() -> None:
    only_reddit = PreprocessConfig(**{name: name == "reddit" for name in SWITCHES})
    text = "[NAME] and /u/Bob on /r/Hockey about [RELIGION] (reddit.com/r/x)"
    assert preprocess(text, only_reddit) == (
        "@name and @user on subreddit Hockey about religion (reddit.com/r/x)"
    )


def test_reddit_step_is_off_by_default() -> None:
    assert preprocess("[NAME] on r/hockey") == "[name] on r/hockey"
    assert preprocess("[NAME] on r/hockey", PreprocessConfig(reddit=True, users=False)) == (
        "@name on subreddit hockey"
    )


@pytest.mark.parametrize(
    ("hashtag", "words", "case_only"),
    [
        ("#happybirthday", "happy birthday", "happybirthday"),
        ("#MondayMotivation", "monday motivation", "monday motivation"),
        ("#NYCmarathon", "nyc marathon", "ny cmarathon"),
        ("#Trump2016", "trump 2016", "trump 2016"),
        ("#مرحبا", "مرحبا", "مرحبا"),  # no English letters: left whole, never dropped
        ("#niñosfelices", "niñosfelices", "niñosfelices"),  # mixed: only pure ASCII stretches
    ],
)
def test_hashtags_split_by_word_statistics(hashtag: str, words: str, case_only: str) -> None:
    assert preprocess(hashtag) == words
    assert preprocess(hashtag, PreprocessConfig(hashtag_words=False)) == case_only


def test_word_statistics_keep_the_original_case() -> None:
    assert preprocess("#HappyBirthday2you", PreprocessConfig(lowercase=False)) == (
        "Happy Birthday 2 you"
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("english", "qué risa face with tears of joy"),
        ("spanish", "qué risa cara llorando de risa"),
        ("arabic", "qué risa 😂"),
    ],
)
def test_emoji_names_in_the_tweets_language(language: str, expected: str) -> None:
    assert preprocess("qué risa 😂", language=language) == expected


def test_emoji_language_per_language_in_the_config() -> None:
    config = PreprocessConfig(emoji_language={"arabic": "ar", "spanish": None})
    assert config.emoji_language == {"english": "en", "spanish": None, "arabic": "ar"}
    assert preprocess("😂", config, "spanish") == "😂"
    assert preprocess_many(["😂", "😂"], config, ["english", "arabic"]) == [
        "face with tears of joy",
        preprocess("😂", PreprocessConfig(emoji_language={"arabic": "ar"}), "arabic"),
    ]


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ({"french": "fr"}, "unknown tweet language 'french'"),
        ({"spanish": "xx"}, "emoji_language.spanish: the emoji package has no names in 'xx'"),
    ],
)
def test_emoji_language_errors(chosen: dict[str, str], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        PreprocessConfig(emoji_language=chosen)
