"""The English reading of German, French and Spanish tickets (apps/tickets/gloss.py) and its lexicons."""

from __future__ import annotations

import pytest

from apps.tickets.gloss import GLOSSED_LANGUAGES, LexiconError, lexicon, parse_lexicon, to_english


@pytest.mark.parametrize(
    ("language", "text", "wanted"),
    [
        ("de", "Wo finde ich die bisherigen Rechnungen als PDF?", "where find i previous invoices as pdf?"),
        # an inflected form the lexicon does not list reads by its stem
        ("de", "Meine Bestellungen sind nie angekommen.", "my orders are never arrived."),
        # a compound the lexicon does not hold is split into two words it does, with a linking "s"
        ("de", "Die Wiederherstellungsschlüssel", "recovery key"),
        ("fr", "Je n'arrive plus à me connecter à mon compte.", "i can no longer to me log in to my account."),
        ("fr", "J'ai oublié mon mot de passe", "i have forgot my password"),
        # a hyphenated word the lexicon does not hold reads part by part
        ("fr", "Pouvez-vous vérifier?", "can you verify?"),
        ("es", "¿Cuánto tiempo dura el bloqueo de la cuenta?", "¿how long lasts lockout of account?"),
        # the written form decides before accents and stems: "cómo" is how, "como" is as
        ("es", "cómo, como", "how, as"),
        # an MSP's printing and disk tickets
        ("es", "los documentos se quedan en la cola de impresión", "documents quedan in print queue"),
        ("de", "Meine Druckaufträge bleiben in der Warteschlange hängen", "my print jobs bleiben in queue stuck"),
        ("fr", "Mon imprimante bloque, le disque est plein", "my printer locked, disk is full"),
    ],
)
def test_tickets_read_in_english_word_for_word(language: str, text: str, wanted: str) -> None:
    assert to_english(text, language) == wanted


def test_unknown_words_identifiers_and_other_languages_stay_as_written() -> None:
    assert to_english("Bestellung #A-1042 für Northwind", "de") == "order #A-1042 for Northwind"
    english = "Where do I find my invoices?"
    assert to_english(english, "en") == english and to_english(english, "it") == english
    assert to_english("   ", "de") == "   "


def test_every_shipped_lexicon_loads() -> None:
    for language in GLOSSED_LANGUAGES:
        assert len(lexicon(language).written) > 300, language


def test_a_word_given_two_meanings_is_an_error_that_names_the_line() -> None:
    with pytest.raises(LexiconError, match=r"de.txt line 3: 'konto' already means something else \(line 1\)"):
        parse_lexicon("de", "konto = account\n# a comment\nkonto = bank account\n")
    with pytest.raises(LexiconError, match="line 1: write “source words = English words”"):
        parse_lexicon("fr", "compte\n")
    # forms that only share a stem are not a conflict: the first entry covers the forms not listed
    assert parse_lexicon("de", "rechnung = invoice\nrechnungen = invoices\n").word("Rechnungen") == "invoices"


def test_a_french_inverted_subject_reads_as_verb_then_pronoun() -> None:
    """ "passe-t-il" is one written word but two for phrases: "que se passe-t-il" is "what happens"."""
    assert to_english("Que se passe-t-il si on ne paie pas ?", "fr").startswith("what happens if")
    assert to_english("Pouvez-vous renvoyer la facture ?", "fr") == "can you resend invoice ?"
    assert to_english("A-t-il reçu la commande NW-1042 ?", "fr").endswith("order NW-1042 ?")
