"""BM25 over the indexed chunks (bm25s), with the query clean-up customers' messages need.

Customers type "pls", "u", "acct" and misspell words; the normaliser expands common chat
shorthand and the index corrects out-of-vocabulary query words to the closest KB word
(one edit, two for long words), so BM25 still matches them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# words() folds apostrophes ("what's" -> "whats"), and neither list has the folded forms, so
# "What's your phone number?" searched for "whats" and matched every "what's" in the KB.
# Ambiguous folds ("ill", "id", "well", "shell") are left out: they are words of their own.
_FOLDED_CONTRACTIONS = frozenset(
    "whats thats theres heres hows wheres whos whens whys im ive youre youve youd youll hes shes "
    "theyre theyve theyd weve dont doesnt didnt isnt arent wasnt werent havent hasnt hadnt wont "
    "wouldnt couldnt shouldnt cant aint lets".split()
)
_STOPWORDS = (frozenset(STOPWORDS_EN) | ENGLISH_STOP_WORDS | _FOLDED_CONTRACTIONS
              | {"does", "did", "doing", "hi", "hey", "hello", "please", "thanks", "thank", "pls"})

# Chat shorthand -> words the KB uses. Kept small and generic (not tuned to any data set).
SHORTHAND: dict[str, str] = {
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please",
    "thx": "thanks", "ty": "thank you", "wanna": "want to", "gonna": "going to",
    "gotta": "have to", "cuz": "because", "coz": "because", "bc": "because", "b4": "before",
    "acct": "account", "acc": "account", "pw": "password", "pwd": "password",
    "addr": "address", "info": "information", "msg": "message", "txt": "text",
    "pkg": "package", "pckg": "package", "amt": "amount", "qty": "quantity",
    "tmrw": "tomorrow", "tmr": "tomorrow", "2day": "today", "rn": "right now",
    "asap": "as soon as possible", "w/": "with", "w/o": "without", 
    "dunno": "do not know", "idk": "i do not know", "cant": "cannot", "wont": "will not",
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "isnt": "is not",
    "havent": "have not", "im": "i am", "ive": "i have", "refundd": "refund",
    "delivry": "delivery", "shippin": "shipping", "yr": "year", "yrs": "years",
    "mos": "months", "wk": "week", "wks": "weeks", "hr": "hour", "hrs": "hours",
    "mins": "minutes", "subs": "subscription",
    "pmt": "payment", "ppl": "people", "govt": "government", "approx": "approximately",
}
_SHORTHAND_RE = re.compile(
    r"(?<![\w/])(" + "|".join(re.escape(k) for k in sorted(SHORTHAND, key=len, reverse=True)) + r")(?![\w/])",
    re.IGNORECASE,
)


def normalise_query(text: str) -> str:
    """Expand chat shorthand and squeeze repeated letters ("sooo" -> "soo")."""
    text = re.sub(r"(\w)\1{2,}", r"\1\1", text)
    return _SHORTHAND_RE.sub(lambda m: SHORTHAND[m.group(1).lower()], text)


# Words that point back to an earlier topic ("how much does IT cost?", "AND for express?").
_ANAPHORA = frozenset(
    "it its it's that this those these they them their there one ones same".split()
)
_FOLLOW_UP_OPENERS = ("and ", "also ", "what about", "how about", "and?", "but ", "ok and", "so ", "then ")


def follow_up_kind(text: str) -> str:
    """"pronoun" when a message points back with a pronoun ("how much is IT?"), "opener" when it
    only starts like a follow-up ("and for express?", "what about refunds?"), else ""."""
    lowered = text.strip().lower()
    if any(w in _ANAPHORA for w in _WORD.findall(lowered)):
        return "pronoun"
    return "opener" if lowered.startswith(_FOLLOW_UP_OPENERS) else ""


def words(text: str) -> list[str]:
    """Lower-cased word tokens, apostrophes folded ("don't" -> "dont")."""
    return [w.replace("'", "") for w in _WORD.findall(text.lower())]


@dataclass
class LexicalIndex:
    """BM25 over chunk texts; `scores(query)` returns one score per chunk row."""

    texts: list[str]
    stemmer: Stemmer.Stemmer = field(default_factory=lambda: Stemmer.Stemmer("english"))

    def __post_init__(self) -> None:
        self._stem_cache: dict[str, str] = {}
        corpus = [self._terms(words(t)) for t in self.texts]
        # Raw surface words of the KB: the dictionary for typo correction.
        self.vocabulary: list[str] = sorted(
            {w for t in self.texts for w in words(t) if len(w) >= 3 and not w.isdigit()}
        )
        self._vocab_set = frozenset(self.vocabulary)
        self._retriever: bm25s.BM25 | None = None
        self._token_ids: dict[str, int] = {}
        if corpus and any(corpus):
            retriever = bm25s.BM25(k1=1.2, b=0.75)
            retriever.index(corpus, show_progress=False)
            self._retriever = retriever
            self._token_ids = dict(retriever.vocab_dict)
        self._n = len(self.texts)

    def _stem(self, word: str) -> str:
        stem = self._stem_cache.get(word)
        if stem is None:
            stem = self.stemmer.stemWord(word)
            self._stem_cache[word] = stem
        return stem

    def _terms(self, tokens: list[str]) -> list[str]:
        return [self._stem(w) for w in tokens if w not in _STOPWORDS]

    def correct(self, word: str) -> str:
        """The closest KB word for an unknown query word (itself if none is close)."""
        if word in self._vocab_set or len(word) < 4 or word.isdigit() or not self.vocabulary:
            return word
        max_edits = 1 if len(word) < 8 else 2
        match = process.extractOne(
            word, self.vocabulary, scorer=Levenshtein.distance, score_cutoff=max_edits
        )
        return match[0] if match else word

    def query_terms(self, text: str) -> list[str]:
        """Stemmed, stopword-free, typo-corrected terms of a query."""
        return self._terms([self.correct(w) for w in words(text)])

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk for already-prepared query terms."""
        if self._retriever is None or not terms:
            return np.zeros(self._n, dtype=np.float32)
        ids = [self._token_ids[t] for t in terms if t in self._token_ids]
        if not ids:
            return np.zeros(self._n, dtype=np.float32)
        return np.asarray(self._retriever.get_scores_from_ids(ids), dtype=np.float32)

    def coverage(self, terms: list[str], row: int) -> float:
        """Share of the query terms that occur in chunk `row` (lexical overlap, 0..1)."""
        if not terms:
            return 0.0
        present = self._row_terms(row)
        return sum(1 for t in set(terms) if t in present) / len(set(terms))

    def known_share(self, terms: list[str]) -> float:
        """Share of the query terms that occur anywhere in the KB (0..1): unknown names and
        topics ("ikea", "nfl") mean the question is about something else."""
        if not terms or not self._token_ids:
            return 0.0
        unique = set(terms)
        return sum(1 for t in unique if t in self._token_ids) / len(unique)

    def _row_terms(self, row: int) -> frozenset[str]:
        cache = getattr(self, "_row_cache", None)
        if cache is None:
            cache = self._row_cache = {}
        terms = cache.get(row)
        if terms is None:
            terms = cache[row] = frozenset(self._terms(words(self.texts[row])))
        return terms
