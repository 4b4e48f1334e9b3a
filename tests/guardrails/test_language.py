"""Language detection and the multilingual cues: the six languages escalate, English stays English.

Sentences are our own. Real langid model (shipped inside py3langid), no embedding model needed.
"""
import pytest

from guardrails.features import topic_cues
from guardrails.language import crisis_text, detect_language, follow_up_text
from guardrails.lexicons import courtesy_kind, cue_language


@pytest.mark.parametrize("text, code", [
    ("Bonjour, je n'arrive pas à suivre ma commande depuis lundi", "fr"),
    ("Hallo, wann kommt meine Bestellung endlich an?", "de"),
    ("Hola, ¿cuándo llega mi pedido a Valencia?", "es"),
    ("Olá, quando chega a minha encomenda ao Porto?", "pt"),
    ("Ciao, quando arriva il mio ordine a Torino?", "it"),
    ("Hoi, wanneer wordt mijn bestelling bezorgd in Gent?", "nl"),
    ("Dzień dobry, kiedy dotrze moja paczka?", "pl"),
    ("Где мой заказ? Прошла уже неделя", "ru"),
])
def test_other_languages_are_recognised(text, code):
    assert detect_language(text).code == code


@pytest.mark.parametrize("text", [
    "refund pls", "hi", "ok thanks", "where is my order", "can I pay with apple pay",
    "lol my app crashed again 😩", "my Kestrel Konto got blocked, can you help",
    "IBAN [IBAN] is my account, why was the transfer returned", "Hola",
])
def test_english_and_short_messages_stay_english(text):
    assert detect_language(text).english


@pytest.mark.parametrize("text, topic, code", [
    ("Je veux mourir", "safety_crisis", "fr"),
    ("Ich will nicht mehr leben", "safety_crisis", "de"),
    ("No quiero seguir viviendo así, quiero suicidarme", "safety_crisis", "es"),
    ("Não quero mais viver", "safety_crisis", "pt"),
    ("Voglio farla finita", "safety_crisis", "it"),
    ("Ik wil niet meer leven", "safety_crisis", "nl"),
    ("Quiero hablar con una persona", "human_requested", "es"),
    ("Je voudrais parler à un conseiller", "human_requested", "fr"),
    ("Kann ich mit einem Mitarbeiter sprechen?", "human_requested", "de"),
    ("Posso falar com um atendente?", "human_requested", "pt"),
    ("Posso parlare con un operatore?", "human_requested", "it"),
    ("Kan ik met een medewerker praten?", "human_requested", "nl"),
    ("Mi cuenta fue hackeada anoche", "fraud_security", "es"),
    ("Je ne reconnais pas ce paiement sur mon relevé", "fraud_security", "fr"),
    ("Meine Kreditkarte wurde gestohlen", "fraud_security", "de"),
    ("O meu cartão foi clonado", "fraud_security", "pt"),
    ("Non riconosco questo addebito", "fraud_security", "it"),
    ("Er is een afschrijving die ik niet herken", "fraud_security", "nl"),
])
def test_multilingual_cues_name_topic_and_language(text, topic, code):
    score, _, _ = topic_cues(text)[topic]
    assert score >= 0.9, (text, topic)
    assert cue_language(text) == code


@pytest.mark.parametrize("text", [
    "¿Cuánto cuesta el envío a Canarias?", "Je voudrais changer mon adresse de livraison",
    "Wie kann ich meine Bestellung stornieren?", "Quanto custa a entrega?",
])
def test_routine_foreign_questions_fire_no_topic_cue(text):
    assert all(score < 0.5 for score, _, _ in topic_cues(text).values()), text


def test_fixed_sentences_in_the_customer_language():
    assert "KS-1" in follow_up_text("de", "KS-1") and "Mitarbeiter" in follow_up_text("de", "KS-1")
    assert follow_up_text("xx", "KS-1").startswith("Thanks")  # unknown language: English
    assert "urgence" in crisis_text("fr") and "emergency" in crisis_text("en")


@pytest.mark.parametrize("text, kind", [
    ("great, thanks that solved it", "goodbye"), ("perfect, that worked 👍", "goodbye"),
    ("that answered my question, thank you", "goodbye"),
    ("that didn't help", ""), ("that solved it but how do I return the old one?", ""),
    ("it worked for a day and then stopped", ""),
])
def test_a_closing_is_told_from_a_new_problem(text, kind):
    assert courtesy_kind(text) == kind
