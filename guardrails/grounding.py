"""Grounding gate: is every sentence of a reply supported by ONE of the passages it cites?

Each claim-carrying reply sentence is attributed to a single passage and checked against that
passage alone (never against all passages pooled, where words from two articles could vouch
for a claim neither makes). Against it, a sentence is supported when

- it is a word-for-word stretch of the passage (what the extractive composer quotes: a
  sentence, a heading line, list items joined), or else all of:
- its content words are (nearly) all in the passage, clause by clause: a clause made mostly
  of words the passage lacks is an added claim; in the borderline band the embedding
  similarity to the closest passage sentence may vouch for a paraphrase;
- every number, amount and duration is in the passage, in the sentence the claim comes from,
  with the same unit and currency ("3 months" is not "3 years");
- words that carry a fact although they sound like courtesy ("free", "always", "instantly",
  "24/7", "guaranteed", "never", "any") are stated by that passage sentence or its neighbour;
- no negation is added to or dropped from the passage sentence it paraphrases;
- no fact is swapped: a clause that matches one passage clause except for a word sitting in
  the slot of that clause's own word, taken from another clause ("physical gift cards are
  sold online" against "digital gift cards are sold online and physical gift cards in
  stores").

Small LLMs invent numbers and policies; this gate is what keeps them out of replies. It is
lexical and numeric, with an optional embedding vouch, so it costs a few milliseconds.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from functools import lru_cache
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Embed = Callable[[list[str]], np.ndarray]

# Coverage needed without help from the embedding signal, and the band where a high
# similarity to one passage sentence may vouch for a paraphrase.
FULL_COVERAGE = 0.8
BORDERLINE_COVERAGE = 0.5
SIMILARITY_VOUCH = 0.85
# A quoted stretch shorter than this may be a fragment that drops what qualified it.
MIN_QUOTE_TOKENS = 4

_STOPWORDS = frozenset(
    """a about above after again against am an and are as at be because been before
    being below between both but by can could did do does doing down during few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself now of off on once only or other our ours ourselves
    out over own same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves also may might
    must shall us via per etc within get got let lets let's it's that's there's here's i'm you're
    we're they're i've you've we've i'll you'll we'll i'd you'd we'd yes ok okay sure one ones
    something someone somewhere instead whole still anymore really actually""".split()
)

# Words a friendly reply may add around the facts without inventing any.
_COURTESY = frozenset(
    """hi hello hey thanks thank glad happy help helps helped hope hopefully please sorry
    great question questions ask asking asked anything else know feel reach reaching out assist
    information info details detail article articles link page see read find found
    below above following quick answer answers note noted certainly absolutely course
    welcome let just check checking more here there good day""".split()
)

# Words that sound like courtesy but state a fact (a price, a time, a promise). Phrases with
# the same meaning are folded into one token first (_FOLDS), on both sides.
_FACT_WORDS = frozenset(
    """free instantly allhours always never guarantee unlimited forever lifetime
    permanently automatically worldwide everywhere anywhere every""".split()
)
_FOLDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bfeel free\b", re.I), " "),
    (re.compile(r"\b(?:free of charge|at no (?:extra |additional )?(?:cost|charge)|no (?:extra |additional )?"
                r"(?:costs?|charges?|fees?)|without (?:any |a |an |extra )?(?:costs?|charges?|fees?)|"
                r"costs? (?:you )?nothing|for nothing|complimentary|free)\b", re.I), " free "),
    (re.compile(r"\b(?:immediately|instant|instantly|right away|straight away|at once|in real[- ]time)\b", re.I),
     " instantly "),
    (re.compile(r"(?:\b24 ?/ ?7\b|\b24 ?x ?7\b|\b(?:a)?round[- ]the[- ]clock\b|\b24 hours a day\b|\bany ?time\b|"
                r"\bday and night\b)", re.I), " allhours "),
    (re.compile(r"\b(?:every time|each time|without exception)\b", re.I), " always "),
    (re.compile(r"\b(?:any|all|each|every|everything|everyone)\b", re.I), " every "),
    (re.compile(r"\bguarantee[sd]?\b", re.I), " guarantee "),
    # a few plain-English synonyms a paraphrase uses for the passage's word
    (re.compile(r"\b(?:price[sd]?|pricing)\b", re.I), " cost "),
    (re.compile(r"\bpurchas(?:e|es|ed|ing)\b", re.I), " buy "),
    (re.compile(r"\b(?:tells?|told)\b", re.I), " says "),
]

_NEGATIONS = frozenset({"not", "no", "never", "cannot", "can't", "won't", "don't", "doesn't",
                        "isn't", "aren't", "wasn't", "weren't", "didn't", "without", "nor",
                        "none", "neither", "couldn't", "shouldn't", "mustn't", "haven't",
                        "hasn't", "unable"})
# How many content words after a negation it reaches ("can't be exchanged for cash").
_NEGATION_REACH = 2
# Words that say "no" without a negation: a paraphrase may turn "sign-in is blocked" into
# "you can't sign in" without adding a negation of its own.
_NEGATIVE_MEANING = frozenset("""block blocked stop stops stopped expire expires expired decline declined
    refuse refused cancel cancelled only except unless prevent prevented lock locked
    unable impossible final excluded exclude""".split())

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
    "hundred": "100", "thousand": "1000", "once": "1", "twice": "2", "half": "0.5",
    "first": "1", "second": "2", "third": "3", "single": "1", "a": "1", "an": "1",
}
# Ordinals and number words that are as often plain words ("one of", "second item", "a")
# only count as numbers when they stand before a unit; digits always count.
_AMBIGUOUS_NUMBER_WORDS = frozenset({"one", "once", "first", "second", "third", "half", "single", "a", "an"})

_URL_RE = re.compile(r"https?://\S+|www\.\S+|\b[\w.-]+@[\w-]+\.[\w.]+\b|\b[a-z0-9-]+\.(?:com|org|net|example|gov|io|co|uk|de|nl|eu)(?:/\S*)?",
                     re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?(?:[.,][0-9]+)*", re.IGNORECASE)
_DIGITS_RE = re.compile(r"\d+(?:[.,]\d+)*")
_CURRENCY_RE = re.compile(r"([€$£¥₹])\s?(\d+(?:[.,]\d+)*)|(\d+(?:[.,]\d+)*)\s?(eur|euros?|usd|dollars?|gbp|pounds?)\b",
                          re.IGNORECASE)
_CURRENCY_NAMES = {"eur": "€", "euro": "€", "euros": "€", "usd": "$", "dollar": "$", "dollars": "$",
                   "gbp": "£", "pound": "£", "pounds": "£"}
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9*•-])|\n+")
_CLAUSE_RE = re.compile(r";|,(?!\d)|\b(?:and|but|while|whereas|or|so|then)\b", re.IGNORECASE)
_LIST_ITEM_RE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "approx.", "no.", "vs.", "mr.", "ms.", "dr.", "st.")

_UNITS = {"day": "day", "days": "day", "hour": "hour", "hours": "hour", "week": "week", "weeks": "week",
          "month": "month", "months": "month", "year": "year", "years": "year", "minute": "minute",
          "minutes": "minute", "mins": "minute", "min": "minute", "business": "day", "working": "day",
          "calendar": "day", "percent": "percent", "%": "percent", "time": "time", "times": "time",
          "seconds": "second", "second": "second", "night": "day", "nights": "day", "h": "hour",
          "km": "km", "miles": "mile", "mile": "mile", "items": "item", "item": "item", "pm": "clock", "am": "clock"}
# "5 business days" and "5 days" say the same; business/working/calendar qualify the day.
_UNIT_QUALIFIERS = frozenset({"business", "working", "calendar"})


@dataclass
class SentenceSupport:
    """How one reply sentence is (or is not) supported by the passage it is attributed to."""

    text: str
    supported: bool
    neutral: bool = False  # courtesy only: carries no claim, not counted in the share
    coverage: float = 0.0
    similarity: float | None = None
    source: int | None = None  # index of the one passage it is attributed to
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
        # Whole words only ("st." inside "post." or "ms." inside "items." ends a sentence), and the
        # writer's own case kept ("St. Mary" stays capitalised).
        protected = re.sub(r"(?<![\w.])" + re.escape(abbr), lambda m: m.group(0).replace(".", "\x00"),
                           protected, flags=re.IGNORECASE)
    parts = _SENTENCE_END_RE.split(protected)
    out = []
    for part in parts:
        part = part.replace("\x00", ".").strip()
        part = re.sub(r"^(?:[-*•]|\d+[.)])\s+", "", part)  # list markers
        if part:
            out.append(part)
    return out


# Irregular English verb forms, so a paraphrase in another tense meets the passage's word.
_IRREGULAR = {
    "bought": "buy", "sold": "sell", "kept": "keep", "paid": "pay", "sent": "send", "took": "take",
    "taken": "take", "gave": "give", "given": "give", "held": "hold", "made": "make", "left": "leave",
    "went": "go", "gone": "go", "told": "tell", "found": "find", "chose": "choose", "chosen": "choose",
    "shown": "show", "spent": "spend", "lost": "lose", "began": "begin", "begun": "begin", "came": "come",
    "brought": "bring", "built": "build", "meant": "mean", "met": "meet", "ran": "run", "saw": "see",
    "seen": "see", "wrote": "write", "written": "write", "done": "do", "did": "do", "won": "win",
    "frozen": "freeze", "froze": "freeze", "chosen ": "choose", "understood": "understand",
}


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """Crude suffix stripping so 'refunds'/'refunded'/'refunding' meet 'refund' (and 'use'/'used')."""
    if word in _FACT_WORDS or word.isupper():
        return word
    word = _IRREGULAR.get(word, word)
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)] + repl
            break
        if suffix in ("ed", "es") and len(word) == 4 and word.endswith(suffix):
            word = word[:-1]  # 'used' -> 'use', 'uses' -> 'use'
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def _normalise_number(token: str) -> str:
    token = token.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", token) else token
    token = token.replace(",", ".")
    if re.fullmatch(r"\d+\.0+", token):
        token = token.split(".")[0]
    return token.lstrip("0") or "0"


def _tokens(text: str) -> list[str]:
    return list(_tokens_of(text))


@lru_cache(maxsize=32768)
def _tokens_of(text: str) -> tuple[str, ...]:
    """Words of a text, memoised: KB sentences come back turn after turn."""
    text = _URL_RE.sub(" ", text).replace("’", "'")
    text = re.sub(r"(\d)([a-zA-Z])", r"\1 \2", text)  # '5pm' -> '5 pm'
    out = []
    for t in _WORD_RE.findall(text):
        t = t.rstrip(".,")
        low = t.lower()
        # an acronym ('US', 'EU', 'PIN') is a name, not the word it spells
        out.append(t if len(t) > 1 and t.isupper() and t.isalpha() and low not in _NEGATIONS
                   and low not in ("i", "a", "ok") else low)
    return tuple(out)


@lru_cache(maxsize=32768)
def _fold(text: str) -> str:
    """Fact-carrying phrases folded to one token ('free of charge' -> 'free')."""
    for pattern, repl in _FOLDS:
        text = pattern.sub(repl, text)
    return text


def _number_tokens(tokens: Sequence[str]) -> list[tuple[int, str]]:
    """(position, normalised value) of every number in a token list."""
    out = []
    for i, tok in enumerate(tokens):
        if _DIGITS_RE.fullmatch(tok):
            out.append((i, _normalise_number(tok)))
            continue
        value = _NUMBER_WORDS.get(tok)
        if value is None:
            continue
        if tok in _AMBIGUOUS_NUMBER_WORDS:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt not in _UNITS or nxt in _UNIT_QUALIFIERS:
                continue
        out.append((i, value))
    return out


def numbers_in(text: str) -> set[str]:
    """Numbers, amounts and durations in the text, normalised ('thirty' -> '30', '$25.00' -> '25')."""
    found = {_normalise_number(m.group(0).rstrip(".,")) for m in _DIGITS_RE.finditer(_URL_RE.sub(" ", text))}
    return found | {v for _, v in _number_tokens(_tokens(text))}


def _number_units(tokens: Sequence[str]) -> set[tuple[str, str]]:
    """(number, unit) pairs: '30 days' -> ('30', 'day'); '5 to 10 business days' -> ('10', 'day')."""
    pairs = set()
    for i, value in _number_tokens(tokens):
        for tok in tokens[i + 1:i + 3]:
            if tok in _UNITS and tok not in _UNIT_QUALIFIERS:
                pairs.add((value, _UNITS[tok]))
                break
            if tok in _UNIT_QUALIFIERS:
                continue
            if _DIGITS_RE.fullmatch(tok) or tok in ("to", "or", "and"):
                break
    return pairs


def _currencies(text: str) -> set[tuple[str, str]]:
    out = set()
    for m in _CURRENCY_RE.finditer(text):
        if m.group(1):
            out.add((m.group(1), _normalise_number(m.group(2).rstrip(".,"))))
        else:
            out.add((_CURRENCY_NAMES.get(m.group(4).lower(), m.group(4).lower()),
                     _normalise_number(m.group(3).rstrip(".,"))))
    return out


def _links(text: str) -> set[str]:
    return {m.group(0).lower().rstrip(".,)") for m in _URL_RE.finditer(text)}


def _names(sentence: str) -> set[str]:
    """Capitalised words after the first one ('Berlin', 'Premium', 'US'): names are facts."""
    words = re.findall(r"[A-Za-z][A-Za-z'’-]+", _URL_RE.sub(" ", sentence))
    picked = [w for w in words[1:] if w[0].isupper()]
    if words and any(c.isupper() for c in words[0][1:]):
        picked.append(words[0])  # 'PayPal refunds...', 'iDEAL ...': a name even first
    return {_stem(w if w.isupper() else w.lower()) for w in picked
            if w.lower() not in _STOPWORDS and w.lower() not in _COURTESY and not _is_negation(w.lower())}


def _is_content(t: str) -> bool:
    if t in _FACT_WORDS:
        return True
    return (t not in _STOPWORDS and t not in _COURTESY and not _DIGITS_RE.fullmatch(t)
            and t not in _NUMBER_WORDS and len(t) > 1 and not _is_negation(t))


def _content(tokens: list[str]) -> list[str]:
    return [t for t in tokens if _is_content(t)]


def _vocab(text: str) -> set[str]:
    return {_stem(t) for t in _tokens(text)}


def _is_negation(t: str) -> bool:
    return t in _NEGATIONS or t.endswith("n't")


def _has_negation(tokens: Sequence[str]) -> bool:
    return any(_is_negation(t) for t in tokens)


def _negation_scopes(tokens: Sequence[str]) -> list[set[str]]:
    """For each negation, the first content words after it ('can't be exchanged for cash' ->
    {'exchang', 'cash'}); call it on one clause, so a negation does not reach past 'and'."""
    scopes = []
    for i, t in enumerate(tokens):
        if _is_negation(t):
            found = [_stem(w) for w in tokens[i + 1:]
                     if (_is_content(w) and w not in _FACT_WORDS) or _DIGITS_RE.fullmatch(w)]
            scopes.append(set(found[:_NEGATION_REACH]))
    return scopes


def _negated_heads(tokens: Sequence[str]) -> set[str]:
    """Every word a negation reaches; a word that means "no" ('blocked', 'only') reaches the
    words on both sides ('sign-in is blocked' -> {'sign'})."""
    heads: set[str] = set().union(*_negation_scopes(tokens)) if tokens else set()
    for i, t in enumerate(tokens):
        if t in _NEGATIVE_MEANING:
            after = [_stem(w) for w in tokens[i + 1:] if _is_content(w)][:_NEGATION_REACH]
            before = [_stem(w) for w in tokens[:i] if _is_content(w)][-_NEGATION_REACH:]
            heads |= set(after) | set(before)
    return heads


def _negations(tokens: Sequence[str]) -> int:
    return sum(1 for t in tokens if _is_negation(t))


# Small words that still order facts ("before 3pm", "over €50"): part of the skeleton.
_ORDER_WORDS = frozenset({"before", "after", "over", "under", "above", "below", "until", "more", "less"})


def _seq(tokens: Sequence[str]) -> list[str]:
    """Content stems and numbers in order: the skeleton the swap check compares."""
    numbers = dict(_number_tokens(tokens))
    out = []
    for i, t in enumerate(tokens):
        if i in numbers:
            out.append("#" + numbers[i])
        elif (_is_content(t) and not _is_negation(t)) or t in _ORDER_WORDS:
            out.append(_stem(t))
    return out


def _clauses(sentence: str) -> list[str]:
    return [c for c in (part.strip() for part in _CLAUSE_RE.split(_URL_RE.sub(" ", sentence))) if c]


@dataclass
class _Sentence:
    text: str
    tokens: list[str]
    vocab: set[str]  # stems of all tokens
    numbers: set[str]
    units: set[tuple[str, str]]
    negated: set[str]  # content stems a negation (or a word meaning "no") reaches, clause by clause
    denied: set[str]  # content stems an explicit negation reaches
    negations: int  # explicit negations ("not", "can't", "never", "without")
    negative: int  # words that mean "no" without being a negation ("blocked", "only")
    lead: set[str] = field(default_factory=set)  # a list item: words of the line introducing it


@dataclass
class _Clause:
    sentence: int
    seq: list[str]
    words: set[str]


@dataclass
class _PassageView:
    """Everything the checks need from one passage, computed once per passage text."""

    sentences: list[_Sentence]
    clauses: list[_Clause]
    vocab: set[str]
    numbers: set[str]
    units: set[tuple[str, str]]
    currencies: set[tuple[str, str]]
    links: set[str]
    stream: str  # all tokens joined by spaces, for the verbatim check
    df: dict[str, int]  # in how many clauses each word is
    sdf: dict[str, int]  # in how many sentences each word is
    whole: list[_Clause]  # each sentence as one unit, for swaps across its clauses


def _sentence_view(text: str) -> _Sentence:
    folded = _fold(text)
    tokens = _tokens(folded)
    negated: set[str] = set()
    denied: set[str] = set()
    for clause in _clauses(folded):
        c_tokens = _tokens(clause)
        negated |= _negated_heads(c_tokens)
        denied |= set().union(*_negation_scopes(c_tokens)) if c_tokens else set()
    return _Sentence(text=text, tokens=tokens, vocab={_stem(t) for t in tokens},
                     numbers={v for _, v in _number_tokens(tokens)}, units=_number_units(tokens),
                     negated=negated, denied=denied, negations=_negations(tokens),
                     negative=sum(1 for t in tokens if t in _NEGATIVE_MEANING))


_VIEWS: OrderedDict[str, _PassageView] = OrderedDict()
_VIEWS_LOCK = threading.Lock()
_VIEWS_MAX = 4096


def _passage_view(text: str) -> _PassageView:
    with _VIEWS_LOCK:
        view = _VIEWS.get(text)
        if view is not None:
            _VIEWS.move_to_end(text)
            return view
    sentences: list[_Sentence] = []
    lead: _Sentence | None = None  # the line a list's items hang from ("It doesn't cover:")
    for line in text.split("\n"):
        item = bool(_LIST_ITEM_RE.match(line))
        parts = [_sentence_view(part) for part in split_sentences(_LIST_ITEM_RE.sub("", line))]
        if item and lead is not None:
            for part in parts:
                part.lead = lead.vocab
        if item and lead is not None and lead.negations:
            for part in parts:
                # "What can't be returned: - gift cards" says gift cards can't be returned
                part.negations += lead.negations
                part.negated |= {w for w in part.vocab if _is_content(w)}
                part.denied |= {w for w in part.vocab if _is_content(w)} | lead.denied
                part.negated |= lead.negated
        elif not item and parts:
            lead = _sentence_view(line)  # the whole line: "Fixed Saver. Lock money away..."
        sentences.extend(parts)
    clauses = []
    for n, s in enumerate(sentences):
        for c in _clauses(_fold(s.text)):
            seq = _seq(_tokens(c))
            if seq:
                clauses.append(_Clause(sentence=n, seq=seq, words=set(seq)))
    df: dict[str, int] = {}
    for c in clauses:
        for w in c.words:
            df[w] = df.get(w, 0) + 1
    sdf: dict[str, int] = {}
    for sent in sentences:
        for w in sent.vocab:
            sdf[w] = sdf.get(w, 0) + 1
    # the words as a reader sees them, list markers ("1.", "-") left out
    raw_tokens = [t for line in text.split("\n") for t in _tokens(_LIST_ITEM_RE.sub("", line))]
    view = _PassageView(
        sentences=sentences, clauses=clauses,
        vocab=set().union(*(s.vocab for s in sentences)) if sentences else set(),
        numbers=set().union(*(s.numbers for s in sentences)) if sentences else set(),
        units=set().union(*(s.units for s in sentences)) if sentences else set(),
        currencies=_currencies(text), links=_links(text),
        stream=" " + " ".join(raw_tokens) + " ", df=df, sdf=sdf,
        whole=[_Clause(sentence=n, seq=_seq(sent.tokens), words=set(_seq(sent.tokens)))
               for n, sent in enumerate(sentences)])
    with _VIEWS_LOCK:
        _VIEWS[text] = view
        while len(_VIEWS) > _VIEWS_MAX:
            _VIEWS.popitem(last=False)
    return view


def _weight(view: _PassageView, word: str) -> float:
    """Rare words in the passage say more about where a claim comes from; numbers most."""
    w = 1.0 / view.df.get(word, 1)
    return 2 * w if word.startswith("#") else w


def _best_clause(view: _PassageView, words: set[str]) -> _Clause | None:
    best, best_score = None, 0.0
    for c in view.clauses:
        score = sum(_weight(view, w) for w in words & c.words)
        if score > best_score:
            best, best_score = c, score
    return best


def _best_sentence(view: _PassageView, stems: set[str], containing: str | None = None) -> list[int]:
    """Indexes of the passage sentences sharing most words with stems (ties all returned)."""
    scored = [(len(stems & s.vocab), n) for n, s in enumerate(view.sentences)
              if containing is None or containing in s.vocab]
    if not scored:
        return []
    top = max(scored)[0]
    return [n for score, n in scored if score == top and score > 0]


def _overlap(words: set[str], claim: set[str]) -> int:
    """Shared words, numbers counted twice: a number pins down which statement a claim is."""
    return sum(2 if w.startswith("#") else 1 for w in words & claim)


def _swapped(a_seq: list[str], u: _Clause, units: Sequence[_Clause], view: _PassageView,
             elsewhere: list[list[str]]) -> str | None:
    """A word of the claim sits in the slot of the passage clause's own word y, and comes from
    another clause where it keeps the same company, and that clause explains the claim less
    well than the one it was put into: two facts traded places ('physical gift cards are sold online' against 'digital gift cards are
    sold online and physical gift cards in stores')."""
    a_set = set(a_seq)

    def neighbours(seq: list[str], k: int) -> set[tuple[str, str]]:
        out = set()
        if k > 0:
            out.add(("L", seq[k - 1]))
        if k + 1 < len(seq):
            out.add(("R", seq[k + 1]))
        return out

    for i, x in enumerate(a_seq):
        if x in u.words or x not in view.df:
            continue
        if not x.startswith("#") and view.sdf.get(x, 0) > 2:
            continue  # a word the passage uses all over is no fact of one statement
        company = neighbours(a_seq, i)
        # x's home: a unit where it keeps the same company, whose own other words the claim
        # does not repeat (a claim that repeats them merges both statements, it swaps nothing)
        homes = [c for c in units if c is not u and any(
            company & neighbours(c.seq, k) for k, w in enumerate(c.seq) if w == x)
            and not ((c.words - u.words - {x}) & a_set)]
        # x at home elsewhere with the same company, and that clause explains the claim less well
        # one way: x at home elsewhere, explaining the claim less well than the unit it was put in;
        # two ways: x never keeps this company in the passage, and the word it displaced turns
        # up elsewhere in the reply ('a new PIN, but the number stays the same')
        one_way = bool(homes) and all(_overlap(c.words, a_set) < _overlap(u.words, a_set) for c in homes)
        nowhere = not any(company & neighbours(c.seq, k) for c in units for k, w in enumerate(c.seq) if w == x)
        two_way = nowhere and x in _near(view, u.sentence) | _near(view, min(u.sentence + 1, len(view.sentences) - 1))
        # ...and sits, in the passage, where the displaced word now sits in the reply
        x_company = set().union(*(neighbours(c.seq, k) for c in units for k, w in enumerate(c.seq) if w == x)) \
            if two_way else set()
        if not one_way and not two_way:
            continue
        for j, y in enumerate(u.seq):
            if y in a_set or y == x or x.startswith("#") != y.startswith("#"):
                continue
            if not y.startswith("#") and view.sdf.get(y, 0) > 2:
                continue
            mirrored = two_way and any(x_company & neighbours(seq, m) for seq in elsewhere
                                       for m, w in enumerate(seq) if w == y)
            if company & neighbours(u.seq, j) and (one_way or mirrored):
                return f"'{x.lstrip('#')}' stands where the passage says '{y.lstrip('#')}'"
    return None


def _transposed(a_seq: list[str], s_seq: list[str], facts: set[str]) -> str | None:
    """Two numbers or names of the passage sentence trade places around one that stays between
    them ('Monday to Thursday, from 9 to 5' -> 'from 5 to 9'). Other words may move: a passive
    or a fronted phrase reorders them without changing the facts."""
    pos = []
    for k, w in enumerate(a_seq):
        if w in facts and a_seq.count(w) == 1 and s_seq.count(w) == 1:
            pos.append((k, s_seq.index(w)))
    for n, (_, pi) in enumerate(pos):
        for m in range(n + 1, len(pos)):
            pj = pos[m][1]
            if pi > pj and any(pj < pk < pi for _, pk in pos[n + 1:m]):
                return f"'{a_seq[pos[n][0]].lstrip('#')}' and '{a_seq[pos[m][0]].lstrip('#')}' trade places"
    return None


def _window(view: _PassageView, n: int) -> set[str]:
    """Vocabulary of a passage sentence and its neighbours."""
    out: set[str] = set()
    for k in (n - 1, n, n + 1):
        if 0 <= k < len(view.sentences):
            out |= view.sentences[k].vocab
    return out


@dataclass
class _Verdict:
    supported: bool
    coverage: float
    missing_words: list[str]
    missing_numbers: list[str]
    why: str
    borderline: bool = False


def _head(view: _PassageView) -> set[str]:
    """The passage's title line ("Gift cards > Buying a gift card"): context for every sentence.
    A first line that is a sentence of its own is no title."""
    first = view.sentences[0]
    return set() if first.text.rstrip().endswith((".", "!", "?")) else first.vocab


def _near(view: _PassageView, k: int) -> set[str]:
    """Vocabulary a statement is read with: the passage's first line, the sentence before, itself."""
    out = _head(view) | view.sentences[k].vocab | view.sentences[k].lead
    return out | view.sentences[k - 1].vocab if k > 0 else out


def _pair(view: _PassageView, k: int) -> set[str]:
    """A sentence and the next one, with the line introducing it and the passage's first line."""
    out = _head(view) | view.sentences[k].vocab | view.sentences[k].lead
    if k > 0 and len(view.sentences[k - 1].tokens) <= 4:
        out = out | view.sentences[k - 1].vocab  # a label before it ("Regulatory fee.")
    return out | view.sentences[k + 1].vocab if k + 1 < len(view.sentences) else out


def _concentration(words: set[str], view: _PassageView) -> float:
    """Share of the words found in one passage sentence and the next, with the passage's
    first line (its title and heading) as context. A claim assembled from words scattered over
    a passage is not stated by it, however many of its words the passage has."""
    if not words:
        return 1.0
    if not view.sentences:
        return 0.0
    head = _head(view)
    best = 0
    for k in range(len(view.sentences)):
        window = head | view.sentences[k].vocab | view.sentences[k].lead
        if k + 1 < len(view.sentences):
            window = window | view.sentences[k + 1].vocab
        best = max(best, len(words & window))
    return best / len(words)


def _judge(sentence: str, view: _PassageView) -> _Verdict:
    """One reply sentence against one passage."""
    folded = _fold(sentence)
    tokens = _tokens(folded)
    content = [_stem(t) for t in _content(tokens)]
    numbers = {v for _, v in _number_tokens(tokens)}
    missing_numbers = sorted(numbers - view.numbers)
    missing_words = [w for w in dict.fromkeys(content) if w not in view.vocab]
    coverage = _concentration(set(content), view)

    def fail(why: str) -> _Verdict:
        return _Verdict(False, round(coverage, 3), missing_words, missing_numbers, why)

    if missing_numbers:
        return fail(f"numbers not in the passage: {', '.join(missing_numbers)}")
    units = _number_units(tokens) - view.units
    if units:
        pair = sorted(units)[0]
        return fail(f"'{pair[0]} {pair[1]}' is not in the passage")
    currencies = _currencies(sentence) - view.currencies
    if currencies:
        cur = sorted(currencies)[0]
        return fail(f"amount {cur[0]}{cur[1]} is not in the passage")
    new_links = {u for u in _links(sentence) if not any(u in p or p in u for p in view.links)}
    if new_links:
        return fail(f"link not in the passage: {sorted(new_links)[0]}")
    names = sorted(n for n in _names(sentence) if n not in view.vocab and n.lower() not in view.vocab)
    if names:
        return fail(f"names not in the passage: {', '.join(names[:4])}")
    if coverage < BORDERLINE_COVERAGE:
        return fail(f"words not in the passage: {', '.join(missing_words[:6])}")

    # Clause by clause: where each claim comes from, and what it says there.
    for clause in _clauses(folded):
        a_seq = _seq(_tokens(clause))
        if not a_seq:
            continue
        a_words = set(a_seq)
        lacking = sorted(w for w in a_words if not w.startswith("#") and w not in view.vocab)
        if lacking and len(lacking) / len(a_words) >= 0.5 and (len(lacking) >= 2 or len(a_words) <= 2):
            return fail(f"adds a claim the passage does not make: {', '.join(lacking[:4])}")
        # a clause says one thing: its words that are particular to one or two statements of
        # the passage come from one place (a sentence and the next, with the title line), not
        # from statements apart ("digital gift cards in stores")
        known = {w for w in a_words if not w.startswith("#") and 0 < view.sdf.get(w, 0) <= 2}
        if len(known) >= 2 and not any(known <= _pair(view, k) for k in range(len(view.sentences))):
            return fail("combines words from different statements of the passage")
        u = _best_clause(view, a_words)
        if u is None:
            continue
        home = view.sentences[u.sentence]
        clause_numbers = {w[1:] for w in a_seq if w.startswith("#")}
        stems = {w for w in a_words if not w.startswith("#")}
        clause_names = {n for n in _names(clause) if n in view.vocab or n.lower() in view.vocab}
        if clause_numbers - home.numbers and not any(
                clause_numbers <= s.numbers and len(stems & s.vocab) >= 0.6 * len(stems)
                and all(n in _near(view, k) or n.lower() in _near(view, k) for n in clause_names)
                for k, s in enumerate(view.sentences)):
            loose = sorted(clause_numbers - home.numbers)
            return fail(f"{', '.join(loose)} belongs to another statement of the passage")
        if clause_numbers and clause_names and not any(
                clause_numbers <= s.numbers and all(n in _near(view, k) or n.lower() in _near(view, k)
                                                    for n in clause_names)
                for k, s in enumerate(view.sentences)):
            return fail(f"{', '.join(sorted(clause_numbers))} is not what the passage says about "
                        f"{', '.join(sorted(clause_names))}")
        for fact in (w for w in a_words if w in _FACT_WORDS):
            window = _window(view, u.sentence)
            if fact == "never":
                stated = fact in window or any(view.sentences[k].negations for k in
                                               range(max(u.sentence - 1, 0), min(u.sentence + 2, len(view.sentences))))
            else:
                stated = fact in window
            if not stated:
                return fail(f"'{fact}' is not what the passage says")
        # within the clause it came from, and within its sentence (a table row read as one)
        elsewhere = [_seq(_tokens(c)) for c in _clauses(folded) if c != clause]  # the reply's other clauses
        swap = _swapped(a_seq, u, view.clauses, view, elsewhere) or _swapped(
            a_seq, view.whole[u.sentence], view.whole, view, elsewhere)
        if swap:
            return fail(f"swaps facts: {swap}")

    # The sentence against the passage sentence it paraphrases: order and negations.
    stems = {w for w in _seq(tokens) if not w.startswith("#")}
    scored = [(sum(1.0 / view.sdf.get(w, 1) for w in stems & s.vocab), len(stems & s.vocab), k)
              for k, s in enumerate(view.sentences)]
    top = max(scored, default=(0.0, 0, 0))
    if top[1] >= 2:
        best = [k for score, _, k in scored if score >= top[0] - 1e-9]
        # numbers pin down which of equally close sentences the claim restates
        pinned = [k for k in best if numbers and numbers <= view.sentences[k].numbers]
        best = pinned or best
        a_seq = _seq(tokens)
        facts = {w for w in a_seq if w.startswith("#")} | _names(sentence)
        moved = [_transposed(a_seq, _seq(view.sentences[k].tokens), facts) for k in best]
        if all(moved):
            return fail(f"swaps facts: {moved[0]}")
        scopes: list[set[str]] = []
        scope_clause: list[set[str]] = []  # the words of the clause each negation stands in
        for clause in _clauses(folded):
            found = _negation_scopes(_tokens(clause))
            scopes += found
            scope_clause += [{w.lstrip("#") for w in _seq(_tokens(clause))}] * len(found)
        said = len(scopes)
        negated_here = set().union(*scopes) if scopes else set()

        def supported_negation(scope: set[str], clause_words: set[str]) -> bool:
            # a negative claim needs a passage sentence that denies those words ("can't be
            # exchanged"), or says no to them in other words ("blocked") while stating most of
            # the claim; when its words are not in the passage, a negative best match
            known = scope & view.vocab
            if known:
                return any((known & sent.denied or known & sent.negated)
                           and clause_words <= _head(view) | sent.vocab | sent.lead | sent.numbers
                           for sent in view.sentences)
            return any(view.sentences[k].negations or view.sentences[k].negative for k in best)

        if scopes and not all(supported_negation(scope, words) for scope, words in zip(scopes, scope_clause)):
            return fail("adds a negation the passage does not state")
        # a word that means "no" in the reply but not in the passage may stand in for a negation
        said += sum(1 for t in tokens if t in _NEGATIVE_MEANING and _stem(t) not in view.vocab)
        if top[1] >= 0.5 * len(stems) and all(
                view.sentences[k].negations > said and (view.sentences[k].denied & stems) - negated_here
                for k in best):
            return fail("drops a negation the passage sentence has")

    if coverage >= FULL_COVERAGE:
        return _Verdict(True, round(coverage, 3), missing_words, [], "")
    verdict = fail(f"words not in the passage: {', '.join(missing_words[:6])}")
    # the embedding may vouch for a synonym or two, not for a phrase the passage lacks
    verdict.borderline = len(missing_words) <= 1 and not any(
        sum(1 for w in _seq(_tokens(c)) if w in missing_words) >= 2 for c in _clauses(folded))
    return verdict


def _quoted(tokens: list[str], view: _PassageView, sentence: str = "") -> bool:
    """Word for word a stretch of the passage (a sentence, a heading, joined list items), or
    pieces that each are (list items joined with '. ' the splitter did not cut at)."""
    if not tokens:
        return False
    joined = " " + " ".join(tokens) + " "
    if joined in view.stream:
        return len(tokens) >= MIN_QUOTE_TOKENS or any(s.tokens == tokens for s in view.sentences)
    pieces = [_tokens(p) for p in re.split(r"(?<=[.!?;:])\s+", sentence)] if sentence else []
    pieces = [p for p in pieces if p]
    return len(pieces) > 1 and all(" " + " ".join(p) + " " in view.stream and
                                   (len(p) >= MIN_QUOTE_TOKENS or any(s.tokens == p for s in view.sentences))
                                   for p in pieces)


def check_grounding(reply: str, passages: list[str], embed: Embed | None = None) -> GroundingResult:
    """Attribute each reply sentence to one passage and check it there (see the module docstring)."""
    checker = "attributed-lexical+numbers+negation+swap" + ("+embedding" if embed is not None else "")
    views = [_passage_view(p) for p in passages]
    results: list[SentenceSupport] = []
    # list markers ("1.", "-") are layout, not claims: numbered steps are read without them
    plain = "\n".join(_LIST_ITEM_RE.sub("", line) for line in reply.split("\n"))
    for sentence in split_sentences(plain):
        tokens = _tokens(sentence)
        folded_tokens = _tokens(_fold(sentence))
        content = _content(folded_tokens)
        # courtesy, or a bare citation line ("More: https://..."): no claim to check
        if not content and not numbers_in(sentence):
            results.append(SentenceSupport(text=sentence, supported=True, neutral=True, coverage=1.0,
                                           why="courtesy only"))
            continue
        if not views:
            results.append(SentenceSupport(text=sentence, supported=False, why="no passage to cite"))
            continue
        quoted = next((i for i, v in enumerate(views) if _quoted(tokens, v, sentence)), None)
        if quoted is not None:
            results.append(SentenceSupport(text=sentence, supported=True, coverage=1.0, source=quoted,
                                           why="quoted"))
            continue
        verdicts = [_judge(sentence, v) for v in views]
        # The passage it is attributed to: the first that supports it, else the closest one.
        order = sorted(range(len(views)), key=lambda i: (-verdicts[i].coverage, i))
        chosen = next((i for i in order if verdicts[i].supported), None)
        similarity = None
        if chosen is None and embed is not None:
            for i in order:
                if not verdicts[i].borderline:
                    continue
                candidates = [s.text for s in views[i].sentences]
                if not candidates:
                    continue
                vectors = embed([sentence] + candidates)
                sims = vectors[1:] @ vectors[0]
                similarity = round(float(np.max(sims)), 3)
                if similarity >= SIMILARITY_VOUCH:
                    chosen = i
                    verdicts[i].supported = True
                    break
        index = chosen if chosen is not None else order[0]
        v = verdicts[index]
        results.append(SentenceSupport(text=sentence, supported=v.supported, coverage=v.coverage,
                                       similarity=similarity, source=index,
                                       missing_words=v.missing_words, missing_numbers=v.missing_numbers,
                                       why="" if v.supported else v.why))

    claims = [s for s in results if not s.neutral]
    share = sum(s.supported for s in claims) / len(claims) if claims else 0.0
    return GroundingResult(share=round(share, 3), sentences=results, checker=checker)
