"""Which language a customer wrote in, and the few fixed sentences the bot can say in it.

Detection uses py3langid (the langid.py model: 97 languages, a 4 MB naive-Bayes model that
ships inside the package, pure numpy, ~0.1 ms a message, no download at run time). Short
social messages are noisy ("refund pls" reads as Danish, "hi" as Serbian), so a message is
only called non-English when the model finds English unlikely AND it is long enough AND it does not
read as English by its function words: a wrong "not English" would hand a routine English
question to a person, which costs far more than answering a foreign one in English.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

ENGLISH = "en"
# Below this many letters the n-gram model guesses ("ok", "hola", "merci" are all ambiguous).
MIN_LETTERS = 12
MIN_WORDS = 2
# Not English only when the model gives English at most this probability.
MAX_ENGLISH = 0.02
# ... and the language it names instead is a clear winner ("is marijuana addictive" is 7% Latin).
MIN_TOP = 0.5

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")
_URL = re.compile(r"https?://\S+|www\.\S+|@\w+|#\w+")
# English function words: two or more of them and the message is served in English, whatever
# the n-gram model says about the nouns ("my Kestrel Konto got blocked").
_EN_FUNCTION = frozenset(
    "the and or but my your our you are were been does did have has had can could will would "
    "should of this that what when where why how which who please pls thanks thank hi hello hey "
    "get got there it's i'm don't can't with from for not just".split()
)  # words that are not also common in the other Latin-script languages ("a", "no", "is", "to")

LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese",
    "it": "Italian", "nl": "Dutch", "pl": "Polish", "ro": "Romanian", "sv": "Swedish",
    "da": "Danish", "no": "Norwegian", "nb": "Norwegian", "fi": "Finnish", "cs": "Czech",
    "sk": "Slovak", "hu": "Hungarian", "el": "Greek", "tr": "Turkish", "ru": "Russian",
    "uk": "Ukrainian", "bg": "Bulgarian", "hr": "Croatian", "sr": "Serbian", "sl": "Slovenian",
    "ar": "Arabic", "he": "Hebrew", "fa": "Persian", "hi": "Hindi", "bn": "Bengali",
    "ur": "Urdu", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "vi": "Vietnamese",
    "th": "Thai", "id": "Indonesian", "ms": "Malay", "tl": "Tagalog", "ca": "Catalan",
}

# "A person will follow up": what the bot says when it cannot serve a message's language.
# {case} is the case number. Written for this project; English is the fallback.
FOLLOW_UP_TEXT = {
    "en": "Thanks for your message. A member of our team will follow up with you here. Your case number is {case}.",
    "es": "Gracias por tu mensaje. Una persona de nuestro equipo te responderá aquí. Tu número de caso es {case}.",
    "fr": "Merci pour votre message. Un membre de notre équipe vous répondra ici. Votre numéro de dossier est {case}.",
    "de": "Danke für Ihre Nachricht. Ein Mitarbeiter unseres Teams meldet sich hier bei Ihnen. Ihre Fallnummer ist {case}.",
    "pt": "Obrigado pela sua mensagem. Uma pessoa da nossa equipa vai responder-lhe aqui. O número do seu caso é {case}.",
    "it": "Grazie per il messaggio. Una persona del nostro team ti risponderà qui. Il numero della tua pratica è {case}.",
    "nl": "Bedankt voor je bericht. Een medewerker van ons team neemt hier contact met je op. Je dossiernummer is {case}.",
    "pl": "Dziękujemy za wiadomość. Ktoś z naszego zespołu odpowie tutaj. Numer zgłoszenia: {case}.",
    "ro": "Vă mulțumim pentru mesaj. Un membru al echipei noastre vă va răspunde aici. Numărul cazului: {case}.",
    "sv": "Tack för ditt meddelande. Någon i vårt team återkommer till dig här. Ditt ärendenummer är {case}.",
    "da": "Tak for din besked. En medarbejder fra vores team vender tilbage til dig her. Dit sagsnummer er {case}.",
    "no": "Takk for meldingen. En i teamet vårt følger opp med deg her. Saksnummeret ditt er {case}.",
    "nb": "Takk for meldingen. En i teamet vårt følger opp med deg her. Saksnummeret ditt er {case}.",
    "fi": "Kiitos viestistäsi. Tiimimme jäsen vastaa sinulle täällä. Tapausnumerosi on {case}.",
    "cs": "Děkujeme za zprávu. Někdo z našeho týmu vám zde odpoví. Číslo vašeho případu je {case}.",
    "hu": "Köszönjük az üzenetét. Csapatunk egyik tagja itt válaszol Önnek. Az ügyszáma: {case}.",
    "el": "Ευχαριστούμε για το μήνυμά σας. Ένα μέλος της ομάδας μας θα σας απαντήσει εδώ. Ο αριθμός υπόθεσης είναι {case}.",
    "tr": "Mesajınız için teşekkürler. Ekibimizden biri size buradan dönüş yapacak. Vaka numaranız: {case}.",
    "ru": "Спасибо за сообщение. Сотрудник нашей команды ответит вам здесь. Номер вашего обращения: {case}.",
    "uk": "Дякуємо за повідомлення. Співробітник нашої команди відповість вам тут. Номер вашого звернення: {case}.",
    "ar": "شكرًا على رسالتك. سيتابع معك أحد أعضاء فريقنا هنا. رقم حالتك هو {case}.",
    "he": "תודה על ההודעה. נציג מהצוות שלנו יחזור אליך כאן. מספר הפנייה שלך הוא {case}.",
    "hi": "आपके संदेश के लिए धन्यवाद। हमारी टीम का कोई सदस्य यहीं आपसे संपर्क करेगा। आपका केस नंबर {case} है।",
    "zh": "感谢您的留言。我们团队的工作人员会在这里跟进。您的案例编号是 {case}。",
    "ja": "メッセージありがとうございます。担当者がこちらでご連絡いたします。ケース番号は {case} です。",
    "ko": "메시지 감사합니다. 저희 팀원이 이곳에서 답변드리겠습니다. 케이스 번호는 {case}입니다.",
    "vi": "Cảm ơn bạn đã nhắn tin. Một thành viên trong nhóm của chúng tôi sẽ phản hồi bạn tại đây. Mã hồ sơ của bạn là {case}.",
    "id": "Terima kasih atas pesan Anda. Anggota tim kami akan menindaklanjuti di sini. Nomor kasus Anda adalah {case}.",
    "ca": "Gràcies pel teu missatge. Una persona del nostre equip et respondrà aquí. El teu número de cas és {case}.",
}

# The emergency sentence, said first to anyone in crisis, in their language when we have it.
CRISIS_TEXT = {
    "en": "If you or someone else is in immediate danger, please contact your local emergency number right away.",
    "es": "Si tú u otra persona estáis en peligro inmediato, llama ahora mismo al número de emergencias de tu país.",
    "fr": "Si vous ou quelqu'un d'autre êtes en danger immédiat, appelez tout de suite le numéro d'urgence local.",
    "de": "Wenn Sie oder jemand anderes in unmittelbarer Gefahr sind, rufen Sie bitte sofort den örtlichen Notruf an.",
    "pt": "Se você ou outra pessoa estiver em perigo imediato, ligue já para o número de emergência local.",
    "it": "Se tu o qualcun altro siete in pericolo immediato, chiama subito il numero di emergenza locale.",
    "nl": "Als jij of iemand anders in direct gevaar is, bel dan meteen het lokale alarmnummer.",
}


@dataclass(frozen=True)
class Detected:
    code: str  # ISO 639-1, "en" when unsure
    confidence: float
    raw: str  # the model's own guess before the English safeguards

    @property
    def english(self) -> bool:
        return self.code == ENGLISH

    @property
    def name(self) -> str:
        return LANGUAGE_NAMES.get(self.code, self.code)


@lru_cache(maxsize=1)
def _identifier():
    """The langid model, loaded once (about 0.3 s) and shared by every thread (read-only)."""
    from pathlib import Path

    import py3langid.langid as langid

    return langid.LanguageIdentifier.from_model_file(
        Path(langid.__file__).resolve().parent / langid.MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> Detected:
    """The message's language; "en" unless the evidence for another language is clear."""
    clean = _URL.sub(" ", _PLACEHOLDER.sub(" ", text or ""))
    words = _WORD.findall(clean)
    letters = sum(len(w) for w in words)
    if not words:
        return Detected(ENGLISH, 0.0, "")
    ranked = _identifier().rank(clean)
    raw, prob = str(ranked[0][0]), float(ranked[0][1])
    if raw == ENGLISH:
        return Detected(ENGLISH, prob, raw)
    # Close languages share the mass (es/pt/gl/ca), so the top language may be unsure while
    # English is clearly out: what matters here is how unlikely English is.
    p_english = next((float(p) for code, p in ranked if code == ENGLISH), 0.0)
    # Scripts that are never English (CJK, Cyrillic, Arabic, ...) need no word count.
    non_latin = sum(1 for ch in clean if ch.isalpha() and ord(ch) > 0x24F)
    if non_latin >= 2 and non_latin >= 0.5 * sum(1 for ch in clean if ch.isalpha()):
        return Detected(raw, prob, raw) if prob >= 0.5 else Detected(ENGLISH, prob, raw)
    if len(words) < MIN_WORDS or letters < MIN_LETTERS or p_english > MAX_ENGLISH or prob < MIN_TOP:
        return Detected(ENGLISH, prob, raw)
    lowered = [w.lower() for w in words]
    english_words = sum(1 for w in lowered if w in _EN_FUNCTION)
    if english_words >= 2 or english_words / len(lowered) >= 0.25:
        return Detected(ENGLISH, prob, raw)
    return Detected(raw, prob, raw)


def follow_up_text(code: str, case_id: str) -> str:
    """"A person will follow up here" in the customer's language (English when we lack it)."""
    return FOLLOW_UP_TEXT.get(code, FOLLOW_UP_TEXT[ENGLISH]).format(case=case_id)


def crisis_text(code: str) -> str:
    """The emergency sentence in the customer's language (English when we lack it)."""
    return CRISIS_TEXT.get(code, CRISIS_TEXT[ENGLISH])
