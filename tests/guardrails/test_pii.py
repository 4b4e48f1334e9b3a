"""Personal-data recognizers: checksums, context cues, and numbers that must survive."""
import pytest

from guardrails.pii import iban_ok, luhn_ok, redact


@pytest.mark.parametrize("text,kind,value", [
    ("someone charged my card 4111 1111 1111 1111 and I never ordered", "CARD", "4111 1111 1111 1111"),
    ("card 5500-0000-0000-0004 declined", "CARD", "5500-0000-0000-0004"),
    ("my iban is DE89 3704 0044 0532 0130 00 thanks", "IBAN", "DE89 3704 0044 0532 0130 00"),
    ("pay to GB82WEST12345698765432 please", "IBAN", "GB82WEST12345698765432"),
    ("ssn 123-45-6789", "SSN", "123-45-6789"),
    ("my NI number is AB 12 34 56 C", "NATIONAL_ID", "AB 12 34 56 C"),
    ("DNI 12345678Z", "NATIONAL_ID", "12345678Z"),
    ("call me on +44 20 7946 0958", "PHONE", "+44 20 7946 0958"),
    ("my number is (415) 555-2671", "PHONE", "(415) 555-2671"),
    # Fictional or unassigned ranges are not "valid" to phonenumbers, but a customer who writes
    # one is still giving a way to reach them: the + prefix or a phone word is enough.
    ("call me at +1 555 765 4321", "PHONE", "+1 555 765 4321"),
    ("my number is +44 7700 900123 thanks", "PHONE", "+44 7700 900123"),
    ("whatsapp me on 555 0199 321", "PHONE", "555 0199 321"),
    ("email me at jane.doe+shop@example.co.uk", "EMAIL", "jane.doe+shop@example.co.uk"),
    ("my pin is 4921", "PIN", "4921"),
    ("the verification code is 834221", "OTP", "834221"),
    ("my password is hunter2!", "PASSWORD", "hunter2"),
    ("account number 12345678 please", "ACCOUNT", "12345678"),
    ("I live at 221 Baker Street, London", "ADDRESS", "221 Baker Street"),
])
def test_recognizer_redacts_value(text, kind, value):
    r = redact(text)
    assert kind in r.kinds
    assert value not in r.text
    assert f"[{kind}]" in r.text
    # the value is kept in memory for output checks, never in the serialised form
    assert any(value in v or v in value for v in r.values)
    assert value not in r.model_dump_json()
    assert value not in repr(r)


@pytest.mark.parametrize("text,kind", [
    ("card 4111 1111 1111 1112 failed", "CARD"),  # Luhn fails
    ("iban DE89 3704 0044 0532 0130 01", "IBAN"),  # mod-97 fails
    ("number 666-12-3456", "SSN"),  # never-issued SSN area
])
def test_invalid_checksums_are_not_that_kind(text, kind):
    assert kind not in redact(text).kinds


def test_checksum_functions():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("DE89370400440532013000") and not iban_ok("DE89370400440532013001")


@pytest.mark.parametrize("text", [
    "It cost $49.99 on 12/05/2024 at 10:30",
    "I bought 3 pairs of WH-1000XM4 in 2023",
    "price was 1,299.00 USD for 20 items",
    "order #123456 hasn't arrived",
    "tracking number 1Z999AA10123456784 shows nothing",
    "my zip code 94107",
    "promo code 2024 didn't work",
    "error code 404 when paying",
    "version 2.4.1 build 20240112",
    "dates 2024-11-23 and 23.11.2024",
    "my password is wrong",
    "I waited 2 hours on the road",
])
def test_tricky_non_pii_numbers_survive(text):
    r = redact(text)
    assert r.text == text and r.kinds == []


def test_several_values_all_gone():
    text = "I'm jo@x.io, card 4111111111111111, pin: 1234, phone 415-555-2671"
    r = redact(text)
    for v in ("jo@x.io", "4111111111111111", "1234", "415-555-2671"):
        assert v not in r.text
    assert set(r.kinds) == {"EMAIL", "CARD", "PIN", "PHONE"}
