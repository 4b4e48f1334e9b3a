"""Grounding check: is every sentence of a reply supported by the passages it cites?

A sentence is supported when its content words are (nearly) all found in the passages
and every number, amount or duration in it appears there too. Embedding similarity to the
closest passage sentence is a second signal for paraphrases in the borderline band.
Small LLMs invent numbers and policies; this gate is what keeps them out of replies.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Embed = Callable[[list[str]], np.ndarray]

# Coverage needed without help from the embedding signal, and the band where a high
# similarity to one passage sentence may vouch for a paraphrase.
FULL_COVERAGE = 0.8
BORDERLINE_COVERAGE = 0.5
SIMILARITY_VOUCH = 0.7

_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself now of off on once only or other our ours ourselves
    out over own same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves also may might
    must shall us via per etc within get got let lets let's it's that's there's here's i'm you're
    we're they're i've you've we've i'll you'll we'll i'd you'd we'd yes ok okay sure one ones""".split()
)

# Words a friendly reply may add around the facts without inventing any.
_COURTESY = frozenset(
    """hi hello hey thanks thank glad happy help helps helped hope hopefully please sorry
    great question questions anything else know feel free reach reaching out assist
    information info details detail article articles link page see read find found
    below above following quick answer answers note noted certainly absolutely course
    welcome let just check checking more here there good day""".split()
)

_NEGATIONS = frozenset({"not", "no", "never", "cannot", "can't", "won't", "don't", "doesn't",
                        "isn't", "aren't", "wasn't", "weren't", "didn't", "without", "nor"})

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
    "hundred": "100", "thousand": "1000", "once": "1", "twice": "2", "half": "0.5",
    "first": "1", "second": "2", "third": "3",
}
# Ordinals and number words that are as often plain words ("one of", "second item") only
# count as numbers when they stand before a unit; digits always count.
_AMBIGUOUS_NUMBER_WORDS = frozenset({"one", "once", "first", "second", "third", "half"})

_URL_RE = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?(?:[.,][0-9]+)*", re.IGNORECASE)
_DIGITS_RE = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9*•-])|\n+")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "approx.", "no.", "vs.", "mr.", "ms.", "dr.", "st.")


@dataclass
class SentenceSupport:
    """How one reply sentence is (or is not) supported by the passages."""

    text: str
    supported: bool
    neutral: bool = False  # courtesy only: carries no claim, not counted in the share
    coverage: float = 0.0
    similarity: float | None = None
    source: int | None = None  # index of the passage that supports it best
    missing_words: list[str] = field(default_factory=list)
    missing_numbers: list[str] = field(default_factory=list)
    why: str = ""


@dataclass
class GroundingResult:
    share: float  # supported / claim-carrying sentences (0 when there is none)
    sentences: list[SentenceSupport]
    checker: str

    @property
    def ok(self) -> bool:
        """Every claim-carrying sentence is supported and there is at least one."""
        claims = [s for s in self.sentences if not s.neutral]
        return bool(claims) and all(s.supported for s in claims)

    @property
    def unsupported(self) -> list[SentenceSupport]:
        return [s for s in self.sentences if not s.neutral and not s.supported]

    @property
    def sources(self) -> list[int]:
        """Passage indexes that support at least one sentence, in first-use order."""
        out: list[int] = []
        for s in self.sentences:
            if s.supported and s.source is not None and s.source not in out:
                out.append(s.source)
        return out


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; list items and lines count as sentence boundaries."""
    protected = text
    for abbr in _ABBREVIATIONS:
        protected = re.sub(re.escape(abbr), abbr.replace(".", "\x00"), protected, flags=re.IGNORECASE)
    parts = _SENTENCE_END_RE.split(protected)
    out = []
    for part in parts:
        part = part.replace("\x00", ".").strip()
        part = re.sub(r"^(?:[-*•]|\d+[.)])\s+", "", part)  # list markers
        if part:
            out.append(part)
    return out


def _stem(word: str) -> str:
    """Crude suffix stripping so 'refunds'/'refunded'/'refunding' meet 'refund'."""
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word


def _normalise_number(token: str) -> str:
    token = token.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", token) else token
    token = token.replace(",", ".")
    if re.fullmatch(r"\d+\.0+", token):
        token = token.split(".")[0]
    return token.lstrip("0") or "0"


def _tokens(text: str) -> list[str]:
    text = _URL_RE.sub(" ", text).replace("’", "'")
    return [t.lower().rstrip(".,") for t in _WORD_RE.findall(text)]


_UNITS = frozenset({"day", "days", "hour", "hours", "week", "weeks", "month", "months", "year",
                    "years", "minute", "minutes", "business", "working", "calendar", "percent",
                    "dollars", "euros", "pounds", "time", "times"})


def numbers_in(text: str) -> set[str]:
    """Numbers, amounts and durations in the text, normalised ('thirty' -> '30', '$25.00' -> '25')."""
    found = {_normalise_number(m.group(0).rstrip(".,")) for m in _DIGITS_RE.finditer(_URL_RE.sub(" ", text))}
    tokens = _tokens(text)
    for i, tok in enumerate(tokens):
        value = _NUMBER_WORDS.get(tok)
        if value is None:
            continue
        if tok in _AMBIGUOUS_NUMBER_WORDS:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt not in _UNITS:
                continue
        found.add(value)
    return found


def _content(tokens: list[str]) -> list[str]:
    return [
        t for t in tokens
        if t not in _STOPWORDS and t not in _COURTESY and not _DIGITS_RE.fullmatch(t)
        and t not in _NUMBER_WORDS and len(t) > 1
    ]


def _vocab(text: str) -> set[str]:
    return {_stem(t) for t in _tokens(text)}


def _has_negation(tokens: Sequence[str]) -> bool:
    return any(t in _NEGATIONS or t.endswith("n't") for t in tokens)


def check_grounding(reply: str, passages: list[str], embed: Embed | None = None) -> GroundingResult:
    """Attribute each reply sentence to the passages; see the module docstring for the rule."""
    checker = "lexical+numbers" + ("+embedding" if embed is not None else "")
    sentences = split_sentences(reply)
    passage_vocab = [_vocab(p) for p in passages]
    all_vocab: set[str] = set().union(*passage_vocab) if passage_vocab else set()
    all_numbers: set[str] = set().union(*(numbers_in(p) for p in passages)) if passages else set()
    passage_sentences = [(i, s) for i, p in enumerate(passages) for s in split_sentences(p)]
    passage_sentence_vocab = [(i, s, _vocab(s), _has_negation(_tokens(s))) for i, s in passage_sentences]
    quoted = {tuple(_tokens(s)): i for i, s in reversed(passage_sentences)}  # first passage wins

    results: list[SentenceSupport] = []
    for sentence in sentences:
        tokens = _tokens(sentence)
        content = [_stem(t) for t in _content(tokens)]
        numbers = numbers_in(sentence)
        if not content and not numbers:
            results.append(SentenceSupport(text=sentence, supported=True, neutral=True, coverage=1.0,
                                           why="courtesy only"))
            continue
        if tuple(tokens) in quoted:
            # Word for word a passage sentence: supported by it, whatever a neighbour says.
            results.append(SentenceSupport(text=sentence, supported=True, coverage=1.0,
                                           source=quoted[tuple(tokens)], why="quoted"))
            continue
        missing_numbers = sorted(numbers - all_numbers)
        missing_words = [w for w in content if w not in all_vocab]
        coverage = 1.0 - len(missing_words) / len(content) if content else 1.0
        # the passage sentence sharing most words is the claim's best source
        best = max(passage_sentence_vocab, key=lambda ps: len(set(content) & ps[2]), default=None)
        source = best[0] if best else None
        support = SentenceSupport(text=sentence, supported=False, coverage=round(coverage, 3),
                                  source=source, missing_words=missing_words,
                                  missing_numbers=missing_numbers)
        if not passages:
            support.why = "no passage to cite"
        elif missing_numbers:
            support.why = f"numbers not in the passages: {', '.join(missing_numbers)}"
        elif best is not None and _has_negation(tokens) and not best[3]:
            support.why = "negates what the closest passage sentence says"
        elif coverage >= FULL_COVERAGE:
            support.supported = True
        elif coverage >= BORDERLINE_COVERAGE and embed is not None and passage_sentences:
            vectors = embed([sentence] + [s for _, s in passage_sentences])
            sims = vectors[1:] @ vectors[0]
            top = int(np.argmax(sims))
            support.similarity = round(float(sims[top]), 3)
            support.source = passage_sentences[top][0]
            support.supported = support.similarity >= SIMILARITY_VOUCH
            if not support.supported:
                support.why = f"words not in the passages: {', '.join(missing_words[:6])}"
        else:
            support.why = f"words not in the passages: {', '.join(missing_words[:6])}"
        results.append(support)

    claims = [s for s in results if not s.neutral]
    share = sum(s.supported for s in claims) / len(claims) if claims else 0.0
    return GroundingResult(share=round(share, 3), sentences=results, checker=checker)
