"""Deterministic generator for the emotrain demo data set.

The rows are assembled from hand-written phrase fragments (one pool per
emotion, plus a pool of neutral sentences) written specifically for this
project.  Nothing here is copied or paraphrased from an existing corpus.

Running ``python generate.py`` rewrites the three ``demo-*.tsv`` files
byte for byte (UTF-8, CRLF line endings, SemEval 2018 Task 1 E-c layout).
"""

from __future__ import annotations

import random
from pathlib import Path

EMOTIONS: tuple[str, ...] = (
    "anger",
    "anticipation",
    "disgust",
    "fear",
    "joy",
    "love",
    "optimism",
    "pessimism",
    "sadness",
    "surprise",
    "trust",
)

SPLITS: tuple[tuple[str, int, int], ...] = (
    # (file name, number of rows, first id number)
    ("demo-train.tsv", 360, 1),
    ("demo-dev.tsv", 90, 1001),
    ("demo-test.tsv", 90, 2001),
)

MIN_TRAIN = 12
MIN_OTHER = 3
NONE_SHARE = 0.03
MIN_WORDS = 5
MAX_WORDS = 30

SLOTS: dict[str, list[str]] = {
    "person": [
        "my sister",
        "my mom",
        "my best friend",
        "my roommate",
        "the new neighbour",
        "my dad",
        "our coach",
        "my little brother",
        "grandpa",
        "my flatmate",
        "my cousin",
        "our teacher",
        "my auntie",
        "my oldest friend",
        "my nan",
    ],
    "event": [
        "the concert",
        "the road trip",
        "the final exam",
        "the job interview",
        "the wedding",
        "the cup final",
        "the family dinner",
        "the game on sunday",
        "the beach weekend",
        "the festival",
        "the season finale",
        "my birthday party",
        "the big hike",
        "graduation",
        "the driving test",
        "the school play",
        "the camping trip",
    ],
    "thing": [
        "my phone",
        "the bus",
        "the wifi",
        "my laptop",
        "the coffee machine",
        "the train",
        "my car",
        "the printer",
        "the heating",
        "the washing machine",
    ],
    "place": [
        "the office",
        "the gym",
        "the airport",
        "the library",
        "the mall",
        "the park",
        "campus",
        "the stadium",
        "the dentist",
        "the supermarket",
        "the station",
        "the cinema",
    ],
    "time": [
        "tonight",
        "this morning",
        "today",
        "this weekend",
        "on monday",
        "last night",
        "all week",
        "again",
        "right now",
        "this afternoon",
    ],
    "food": [
        "pizza",
        "tacos",
        "ramen",
        "pancakes",
        "curry",
        "cheesecake",
        "burgers",
        "noodles",
        "brownies",
        "dumplings",
        "waffles",
    ],
}

CLAUSES: dict[str, list[str]] = {
    "anger": [
        "{person} lied to my face {time} and i am furious",
        "so angry at {thing}, it broke down {time} for the third time",
        "absolutely fuming, {person} cancelled on me at the last minute",
        "who thought it was ok to park across my driveway?? livid",
        "i swear if {thing} freezes one more time i will scream",
        "stop interrupting me, i am so mad right now",
        "{place} kept me waiting two hours and nobody apologised, raging",
        "how dare they raise the rent again, this makes my blood boil",
        "sick of being ignored by {person}, so pissed off",
        "the referee ruined the whole game, i'm seething",
        "i hate it when people talk through the whole movie",
        "another delay at {place}, i am beyond irritated",
        "you had one job and you still messed it up, furious",
        "yelling at {thing} like it can hear me, rage level max",
        "they charged me twice and then hung up on me, outraged",
        "slammed the door so hard, i'm that angry with {person}",
    ],
    "anticipation": [
        "can't wait for {event}",
        "counting down the days until {event}",
        "only three more sleeps until {event}",
        "so ready for {event}, bring it on",
        "waiting on the results and checking my email every minute",
        "tickets booked, {event} here we come",
        "wonder what they will announce tomorrow",
        "bags packed and ready to go for {event}",
        "the trailer drops tonight, who's watching with me",
        "refreshing the page nonstop waiting for news",
        "{event} is next week, let's go",
        "getting ready for {event}, so much to prepare",
        "wondering what {person} has planned for friday",
        "setting three alarms so i don't miss {event}",
        "any minute now, the countdown is on",
    ],
    "disgust": [
        "the smell in {place} {time} is actually making me gag",
        "found a hair in my {food}, absolutely disgusting",
        "people who don't wash their hands after the toilet are gross",
        "that politician's speech was vile and revolting",
        "the fridge at {place} is a biohazard, so nasty",
        "ew, someone left chewed gum stuck to {thing}",
        "watching them mock a homeless guy made me sick to my stomach",
        "the way some people treat waiters is repulsive",
        "cheating and then bragging about it? disgusting behaviour",
        "the toilets at {place} are beyond foul",
        "that fake apology was nauseating",
        "mould growing on the bread again, yuck",
        "they dump litter all over the park, it's sickening",
        "ugh, {person} chews with their mouth open, gross",
    ],
    "fear": [
        "{event} is coming up and i am terrified",
        "heard footsteps outside my window {time}, so scared",
        "my hands are shaking before {event}",
        "the turbulence on this flight is freaking me out",
        "what if i mess up {event}, i'm panicking",
        "huge spider in my room and i'm frozen in fear",
        "walking home alone in the dark makes me so nervous",
        "the doctor wants to run more tests and i'm scared",
        "the storm is getting worse and i'm honestly frightened",
        "anxiety through the roof waiting for the results",
        "heart pounding, that noise downstairs was not the cat",
        "i'm dreading {event}, can't stop worrying",
        "horror movie marathon was a mistake, too afraid to turn off the lights",
        "lost sight of {person} in the crowd and totally panicked",
    ],
    "joy": [
        "best day ever, {person} surprised me with {food}",
        "laughing so hard at {person} right now",
        "{event} was amazing, i'm so happy",
        "passed my test!! so happy",
        "sunshine, {food} and good music, life is good",
        "got the job!!! celebrating {time}",
        "can't stop smiling after {event}",
        "we won!!! what a feeling",
        "this made my whole week, pure happiness",
        "dancing around the kitchen because it's friday",
        "had the best time at {place} with {person}",
        "feeling so cheerful {time}, everything is going right",
        "that joke had me crying laughing",
        "yay, my package finally arrived and it's perfect",
        "so delighted with how {event} turned out",
        "woke up in such a good mood {time}",
    ],
    "love": [
        "i love {person} so much",
        "{person} is my whole world",
        "falling for you more every day",
        "so lucky to have {person} in my life, love you",
        "cuddles with my dog are everything, love him",
        "my heart melts every time {person} laughs",
        "date night with my favourite human",
        "nothing beats a hug from {person}",
        "love you to the moon and back",
        "adore this little family of mine",
        "{person} made me breakfast in bed, how sweet is that",
        "ten years together and i still get butterflies",
        "sending so much love to {person} today",
        "i absolutely adore {food}, true love",
        "my darling puppy fell asleep on my lap, my heart",
    ],
    "optimism": [
        "tomorrow is a new chance to get it right",
        "things are going to get better, i can feel it",
        "keep going, the hard part is almost over",
        "i believe we can turn this season around",
        "every setback is a setup for a comeback",
        "staying positive, good things are on the way",
        "this year is going to be our year",
        "one step at a time, we will get there",
        "hopeful that {event} goes well",
        "the future looks bright",
        "whatever happens, it will all work out in the end",
        "small progress is still progress",
        "confident we'll bounce back after last week",
        "chin up, brighter days ahead",
        "i have a good feeling about {event}",
    ],
    "pessimism": [
        "nothing ever works out for me",
        "what's the point, it's going to fail anyway",
        "no way {event} goes well, it never does",
        "expecting the worst, as usual",
        "this whole country is doomed honestly",
        "i'll never get out of this rut",
        "why bother trying, they'll just say no again",
        "we are going to lose again, i can already tell",
        "every year gets worse than the last",
        "pretty sure i'll be stuck in this dead end job forever",
        "it all feels hopeless",
        "don't get your hopes up, nothing will change",
        "another monday, another week of nothing going right",
        "bet {thing} breaks again by friday, it always does",
    ],
    "sadness": [
        "miss {person} so much it hurts",
        "crying in my room {time}",
        "feeling so lonely lately",
        "rest in peace to my childhood dog, i'm heartbroken",
        "{event} got cancelled and i'm gutted",
        "just want to curl up under the blanket and cry",
        "a year since we lost grandma and it still hurts",
        "everyone forgot my birthday, feeling really down",
        "the house feels so empty without {person}",
        "tears everywhere after that ending",
        "such a sad day, we said goodbye to {person} at the airport",
        "i feel so low and tired of everything",
        "we broke up {time} and my heart is in pieces",
        "lost my job today and i'm devastated",
    ],
    "surprise": [
        "wait what?? {person} just got engaged",
        "i did not see that plot twist coming",
        "omg {person} showed up at my door out of nowhere",
        "can't believe it actually snowed in april",
        "no way, they cancelled the show after one season??",
        "shocked that {thing} actually works {time}",
        "whoa, that ending came out of nowhere",
        "didn't expect {person} to remember my name",
        "jaw on the floor after that result",
        "out of the blue, my old teacher messaged me",
        "well that was unexpected",
        "i'm stunned, the tickets sold out in two minutes",
        "plot twist: {person} can actually cook",
        "suddenly the lights went out at {place}, what just happened",
    ],
    "trust": [
        "{person} always has my back",
        "i know i can count on {person}",
        "trust the process, the coach knows what he's doing",
        "my doctor explained everything, i feel in safe hands",
        "you can rely on {person} no matter what",
        "whatever happens, i believe in this team",
        "{person} kept my secret for ten years, loyal to the core",
        "my mechanic is honest and never overcharges",
        "if {person} recommends it, i'm in",
        "friends for life, i'd trust her with anything",
        "proud to work with people i can depend on",
        "the new manager actually keeps his promises",
        "i trust {person} completely",
        "left my keys with {person}, totally reliable as always",
    ],
}

NEUTRAL: list[str] = [
    "just got back from {place}, need to do laundry later",
    "anyone know what time {place} closes on sundays",
    "reading the news while the kettle boils",
    "taking the bus to {place} {time}",
    "new phone case arrived, it's blue",
    "meeting at 3pm and then groceries",
    "forecast says cloudy with some wind {time}",
    "updating {thing} now, back in ten minutes",
    "lunch was {food} and a glass of water",
    "watching the match highlights on my laptop",
    "is it just me or did this website change its font",
    "off to {place} for a bit",
    "need to print some documents before friday",
    "moving the desk to the other side of the room {time}",
    "does {place} take cards or only cash",
]

CONNECTORS: list[str] = [". ", "! ", "... ", ", ", " - ", " and ", ". also "]

ENDINGS: dict[str, list[str]] = {
    "anger": ["!", "!!", ".", "", "!!!"],
    "anticipation": ["!", "!!", "", "..."],
    "disgust": [".", "", "!", "..."],
    "fear": ["...", ".", "", "!"],
    "joy": ["!", "!!", "", " :)", " haha"],
    "love": ["", "!", " <3", "."],
    "optimism": ["", ".", "!"],
    "pessimism": [".", "...", ""],
    "sadness": ["...", ".", "", " :("],
    "surprise": ["!", "?!", "!!", ""],
    "trust": ["", ".", "!"],
    "none": ["", ".", ""],
}

EMOJI: dict[str, list[str]] = {
    "anger": ["😡", "😤", "🤬"],
    "anticipation": ["👀", "⏳", "🤞"],
    "disgust": ["🤢", "🤮", "🙄"],
    "fear": ["😱", "😰", "😨"],
    "joy": ["😂", "😊", "🎉", "😁"],
    "love": ["❤️", "😍", "🥰", "💕"],
    "optimism": ["💪", "🌈", "🙏"],
    "pessimism": ["😞", "😒", "🙃"],
    "sadness": ["😢", "😭", "💔"],
    "surprise": ["😮", "😲", "🤯"],
    "trust": ["🤝", "🙏", "💯"],
}

EMOTION_TAGS: dict[str, list[str]] = {
    "anger": ["#angry", "#fuming", "#rage", "#annoyed"],
    "anticipation": ["#countdown", "#soon", "#cantwait", "#excited"],
    "disgust": ["#gross", "#disgusting", "#yuck"],
    "fear": ["#scared", "#anxiety", "#nervous"],
    "joy": ["#happy", "#goodtimes", "#winning", "#fun"],
    "love": ["#love", "#family", "#bae", "#grateful"],
    "optimism": ["#positivevibes", "#keepgoing", "#hope"],
    "pessimism": ["#whatsthepoint", "#doomed", "#asusual"],
    "sadness": ["#sad", "#heartbroken", "#missyou"],
    "surprise": ["#shocked", "#plottwist", "#omg"],
    "trust": ["#loyalty", "#teamwork", "#trust"],
}

GENERIC_TAGS: list[str] = [
    "#Monday",
    "#Friday",
    "#weekend",
    "#life",
    "#StudentLife",
    "#football",
    "#travel",
    "#work",
    "#TBT",
    "#justsaying",
]

HANDLES: list[str] = [
    "@mia_rose",
    "@danny_p",
    "@the_real_sam",
    "@coffeeandbooks",
    "@jk_runs",
    "@leo_writes",
    "@priya88",
    "@tomtom_b",
    "@greenhouse_kate",
    "@nightowl_ben",
]

# (labels, weight): plausible co-occurrence patterns for emotions.
COMBOS: list[tuple[tuple[str, ...], int]] = [
    (("joy",), 6),
    (("joy", "optimism"), 5),
    (("joy", "love"), 5),
    (("joy", "love", "optimism"), 3),
    (("anticipation", "joy", "optimism"), 4),
    (("anticipation", "joy"), 4),
    (("joy", "surprise"), 3),
    (("joy", "trust"), 2),
    (("love",), 3),
    (("love", "trust"), 3),
    (("optimism", "trust"), 3),
    (("optimism",), 3),
    (("anticipation",), 3),
    (("anticipation", "optimism"), 3),
    (("anticipation", "fear"), 3),
    (("anger",), 4),
    (("anger", "disgust"), 7),
    (("anger", "disgust", "pessimism"), 3),
    (("anger", "sadness"), 3),
    (("anger", "surprise"), 2),
    (("anger", "pessimism"), 2),
    (("disgust",), 3),
    (("disgust", "surprise"), 2),
    (("disgust", "sadness"), 2),
    (("fear",), 4),
    (("fear", "sadness"), 3),
    (("fear", "pessimism"), 2),
    (("fear", "surprise"), 2),
    (("sadness",), 4),
    (("sadness", "pessimism"), 5),
    (("love", "sadness"), 3),
    (("optimism", "sadness"), 2),
    (("pessimism",), 3),
    (("surprise",), 3),
    (("trust",), 2),
]


def fill(template: str, rng: random.Random) -> str:
    """Replace each ``{slot}`` in a template with a random filler."""
    values = {name: rng.choice(pool) for name, pool in SLOTS.items()}
    return template.format(**values)


def make_text(labels: tuple[str, ...], rng: random.Random) -> str:
    """Build one tweet-like text that carries a cue for every label."""
    if labels:
        order = list(labels)
        rng.shuffle(order)
        parts = [fill(rng.choice(CLAUSES[emotion]), rng) for emotion in order]
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(CONNECTORS) + part
        text += rng.choice(ENDINGS[order[-1]])
    else:
        text = fill(rng.choice(NEUTRAL), rng) + rng.choice(ENDINGS["none"])
    if rng.random() < 0.4:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.25:
        text = rng.choice(HANDLES) + " " + text
    if labels and rng.random() < 0.35:
        text += " " + rng.choice(EMOJI[rng.choice(labels)])
    if rng.random() < 0.45:
        if labels and rng.random() < 0.7:
            text += " " + rng.choice(EMOTION_TAGS[rng.choice(labels)])
        else:
            text += " " + rng.choice(GENERIC_TAGS)
    if rng.random() < 0.05:
        text += f" http://example.com/{rng.randrange(100, 1000)}"
    return text


def draw_labels(n_rows: int, minimum: int, rng: random.Random) -> list[tuple[str, ...]]:
    """Draw label sets until every emotion reaches ``minimum``."""
    n_none = round(n_rows * NONE_SHARE)
    combos = [labels for labels, _ in COMBOS]
    weights = [weight for _, weight in COMBOS]
    while True:
        drawn = rng.choices(combos, weights=weights, k=n_rows - n_none)
        counts = {e: sum(e in labels for labels in drawn) for e in EMOTIONS}
        if min(counts.values()) >= minimum:
            break
    rows: list[tuple[str, ...]] = drawn + [()] * n_none
    rng.shuffle(rows)
    return rows


def build_split(
    n_rows: int, minimum: int, rng: random.Random, seen: set[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """Return (text, labels) pairs with texts unique across all splits."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for labels in draw_labels(n_rows, minimum, rng):
        for _ in range(1000):
            text = make_text(labels, rng)
            n_words = len(text.split())
            if text not in seen and MIN_WORDS <= n_words <= MAX_WORDS:
                break
        else:
            raise RuntimeError(f"could not make a unique text for {labels}")
        seen.add(text)
        out.append((text, labels))
    return out


def main() -> None:
    rng = random.Random(0)
    seen: set[str] = set()
    out_dir = Path(__file__).resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, (name, n_rows, first_id) in enumerate(SPLITS):
        minimum = MIN_TRAIN if index == 0 else MIN_OTHER
        rows = build_split(n_rows, minimum, rng, seen)
        lines = ["\t".join(("ID", "Tweet", *EMOTIONS))]
        for offset, (text, labels) in enumerate(rows):
            flags = ["1" if e in labels else "0" for e in EMOTIONS]
            lines.append("\t".join((f"demo-En-{first_id + offset:05d}", text, *flags)))
        data = "".join(line + "\r\n" for line in lines)
        (out_dir / name).write_bytes(data.encode("utf-8"))


if __name__ == "__main__":
    main()
