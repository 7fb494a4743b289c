"""An English reading of a ticket written in German, French or Spanish, for matching it against English knowledge.

Gaby's knowledge bases and playbooks are written in English, and the bundled embedding model (all-MiniLM-L6-v2)
only understands English; no multilingual model can be installed offline. A support ticket's meaning, though,
sits in a small vocabulary (account, password, invoice, cancel, export, order…), so a bilingual support lexicon
(``apps/tickets/lexicon/<language>.txt``) gives a word-for-word English gloss that search and intent matching can
use: "Wo finde ich die bisherigen Rechnungen zum Herunterladen als PDF?" reads "where find i previous invoices to
the download as pdf?". Words are compared by their Snowball stem without accents (the ``snowballstemmer`` package),
so one form of each entry covers its inflections; the longest phrase wins; a German compound the lexicon does not
hold is split into two words it does ("Wiederherstellungscodes" → "recovery codes"). Words the lexicon does not know
(product names, identifiers, English loan words) stay as written.

The gloss is only ever read by matching and search; the customer's own words are what people and the LLM see.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import snowballstemmer

LEXICON_DIR = Path(__file__).with_name("lexicon")
STEMMERS = {"de": "german", "fr": "french", "es": "spanish"}
GLOSSED_LANGUAGES = tuple(STEMMERS)
# A word, with inner hyphens and apostrophes ("zwei-faktor", "aujourd'hui"); or any single other character.
_TOKEN = re.compile(r"[^\W_]+(?:[-'\u2019][^\W_]+)*|\s+|.", re.UNICODE)
_WORD = re.compile(r"[^\W_]", re.UNICODE)
# French elision: "l'export", "n'arrive", "qu'il" split into the article or pronoun and the word.
_ELISION = re.compile(r"^(?:l|d|j|n|m|t|s|c|qu|jusqu)['\u2019](?=[^\W_])", re.IGNORECASE)
# French inverted subject: "passe-t-il", "pouvez-vous", "est-ce" — the verb, then its subject pronoun.
_INVERSION = re.compile(
    r"^(?P<verb>[^\W\d_]+)-(?:t-)?(?P<subject>je|tu|il|elle|on|nous|vous|ils|elles|ce)$", re.IGNORECASE
)
# German joins compound parts with a linking "s", "es", "n" or "en" ("Wiederherstellung-s-codes").
_LINKS = ("", "s", "es", "n", "en")
MIN_COMPOUND_PART = 3


class LexiconError(ValueError):
    """A lexicon line that cannot be read, or one word given two different meanings."""


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Lexicon:
    """One language's entries: single words by their written form, then without accents, then by stem; phrases
    by their words' stems. The written form decides first, so "où" (where) and "ou" (or), "Seite" (page) and
    "seit" (since) stay apart even where accents or stems would join them."""

    language: str
    written: dict[str, str]
    folded: dict[str, str]
    stems: dict[str, str]
    phrases: dict[tuple[str, ...], str]
    longest: int

    def key(self, word: str) -> str:
        return _fold(_stemmer(self.language).stemWord(word.lower()))

    def word(self, word: str) -> str | None:
        lowered = word.lower()
        for table, form in ((self.written, lowered), (self.folded, _fold(lowered)), (self.stems, self.key(word))):
            if form in table:
                return table[form]
        return None

    def phrase(self, words: list[str]) -> str | None:
        return self.phrases.get(tuple(self.key(word) for word in words))

    def compound(self, word: str) -> str | None:
        """The English of a compound made of two words the lexicon knows, the longer head first tried."""
        lowered = word.lower()
        if len(lowered) < 2 * MIN_COMPOUND_PART + 2:
            return None
        for cut in range(len(lowered) - MIN_COMPOUND_PART, MIN_COMPOUND_PART - 1, -1):
            head, tail = lowered[:cut], lowered[cut:]
            tail_english = self.word(tail)
            if not tail_english:
                continue
            for link in _LINKS:
                if link and not head.endswith(link):
                    continue
                stem = head[: len(head) - len(link)] if link else head
                head_english = self.word(stem) if len(stem) >= MIN_COMPOUND_PART else None
                if head_english:
                    return f"{head_english} {tail_english}"
        return None


@cache
def _stemmer(language: str):  # type: ignore[no-untyped-def]
    return snowballstemmer.stemmer(STEMMERS[language])


def parse_lexicon(language: str, text: str) -> Lexicon:
    """Read a lexicon's lines ("source words = English words"). The same written word or phrase given two meanings
    is an error; forms that only share a stem keep the first entry's meaning for the forms not listed."""
    lexicon = Lexicon(language, {}, {}, {}, {}, 1)
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        source, separator, english = line.partition(" =")
        source, english = " ".join(_words(source, language)).lower(), english.strip()
        if not separator or not source:
            raise LexiconError(f"{language}.txt line {number}: write “source words = English words”, got {raw!r}.")
        if source in lines and lexicon.written.get(source, lexicon.phrases.get(tuple(source.split()))) != english:
            raise LexiconError(
                f"{language}.txt line {number}: {source!r} already means something else (line {lines[source]})."
            )
        lines[source] = number
        words = source.split()
        if len(words) == 1:
            lexicon.written[source] = english
            lexicon.folded.setdefault(_fold(source), english)
            lexicon.stems.setdefault(lexicon.key(source), english)
        else:
            lexicon.phrases.setdefault(tuple(lexicon.key(word) for word in words), english)
    longest = max((len(k) for k in lexicon.phrases), default=1)
    return dataclasses.replace(lexicon, longest=longest)


@cache
def lexicon(language: str) -> Lexicon:
    path = LEXICON_DIR / f"{language}.txt"
    return parse_lexicon(language, path.read_text(encoding="utf-8"))


def _words(text: str, language: str) -> list[str]:
    return [token for token, is_word in _tokens(text, language) if is_word]


def _tokens(text: str, language: str) -> list[tuple[str, bool]]:
    """``(token, is_word)`` in order, French elisions and inverted subjects split off."""
    tokens: list[tuple[str, bool]] = []
    for token in _TOKEN.findall(text):
        if not _WORD.match(token):
            tokens.append((token, False))
            continue
        elided = _ELISION.match(token) if language == "fr" else None
        if elided:
            tokens.append((token[: elided.end() - 1], True))
            tokens.append((" ", False))
            token = token[elided.end() :]
        inverted = _INVERSION.match(token) if language == "fr" else None
        if inverted:  # "passe-t-il" reads as "passe il", so "que se passe il" can be one phrase
            tokens += [(inverted["verb"], True), (" ", False), (inverted["subject"], True)]
            continue
        tokens.append((token, True))
    return tokens


def _parts(known: Lexicon, word: str) -> str:
    """A hyphenated word the lexicon does not hold, part by part ("Pouvez-vous", "Login-Seite"); an identifier
    ("A-1042") or a word none of whose parts is known stays as written."""
    parts = word.split("-")
    english = [known.word(part) for part in parts]
    if len(parts) < 2 or any(c.isdigit() for c in word) or all(e is None for e in english):
        return word
    return " ".join(filter(None, (e if e is not None else part for e, part in zip(english, parts, strict=True))))


def to_english(text: str, language: str) -> str:
    """``text`` glossed into English word for word when written in a language with a lexicon; else as it is."""
    if language not in STEMMERS or not text.strip():
        return text
    known = lexicon(language)
    tokens = _tokens(text, language)
    word_at = [index for index, (_, is_word) in enumerate(tokens) if is_word]
    out: list[str] = []
    position = 0  # index into word_at
    cursor = 0  # index into tokens
    while position < len(word_at):
        start = word_at[position]
        out.extend(token for token, _ in tokens[cursor:start])
        english, length = None, 1
        for size in range(min(known.longest, len(word_at) - position), 1, -1):
            english = known.phrase([tokens[i][0] for i in word_at[position : position + size]])
            if english is not None:
                length = size
                break
        word = tokens[start][0]
        if english is None:
            english = known.word(word)
        if english is None:
            english = known.compound(word) or _parts(known, word)
        if english:
            out.append(english)
        elif out and out[-1].isspace():
            out.pop()  # a dropped word takes its leading space with it
        position += length
        cursor = word_at[position - 1] + 1
    out.extend(token for token, _ in tokens[cursor:])
    return re.sub(r"[ \t]{2,}", " ", "".join(out)).strip()
