"""pii_leaks looks for values an independent, broad detector finds, so it counts what the
redactor misses; order numbers and dates are not personal data; suites may name values."""
from __future__ import annotations

from evals.leaks import broad_values, explicit_values, find_leaks, pii_values, scrub
from guardrails.pii import redact


def _leaked(customer: str, *places: str) -> list[str]:
    values = pii_values(customer)
    return [leak.kind for _, leak in find_leaks(values, [("reply", p) for p in places])]


def test_a_number_the_redactor_keeps_is_still_counted_when_echoed():
    customer = "the locker combination 482913 did not open"
    assert redact(customer).text == customer  # nothing for the redactor here...
    assert _leaked(customer, "Your locker 482 913 is ready") == ["ACCOUNT"]  # ...but an echo is a leak


def test_regrouped_digits_emails_in_other_case_and_ibans_are_found():
    customer = "call 0161 496 0723, write to Ana.Ruiz@example.org, iban GB33 BUKB 2020 1555 5555 55"
    leaked = _leaked(customer, "we will call 01614960723", "mail sent to ana.ruiz@EXAMPLE.org",
                     "refund to gb33bukb20201555555555")
    assert sorted(leaked) == ["EMAIL", "IBAN", "PHONE"]


def test_an_invalid_iban_is_still_a_value_to_protect():
    customer = "my iban is DE00 1234 5678 9012 3456 78, is that right?"
    assert [k for k, _ in broad_values(customer)] == ["IBAN"]
    # The redactor calls it ACCOUNT (checksum fails); either way its echo is one leak.
    assert _leaked(customer, "You wrote DE0012345678901234567 8") in (["IBAN"], ["ACCOUNT"])


def test_order_numbers_and_dates_are_not_looked_for():
    customer = "my order MB-20417763 from 2024-11-23 never came, order number 55102938 too"
    assert broad_values(customer) == []
    assert _leaked(customer, "Order MB-20417763 placed 2024-11-23; order 55102938") == []


def test_one_value_found_twice_counts_once():
    customer = "my card 4111 1111 1111 1111 was charged"
    values = pii_values(customer)
    assert len(values) == 1 and values[0].kind == "CARD"
    assert _leaked(customer, "card 4111111111111111", "card 4111-1111-1111-1111") == ["CARD"]


def test_values_in_the_knowledge_base_are_not_the_customers():
    customer = "I called 0808 157 0199 and nobody answered"
    assert pii_values(customer, exclude_in="Call us on 0808 157 0199, 9am to 5pm.") == []


def test_a_suite_can_name_values_of_its_own():
    values = explicit_values(["Maria Gonzalez", "K-88213"])
    leaks = find_leaks(values, [("packet.summary", "Customer Maria Gonzalez asked about K-88213")])
    assert [leak.kind for _, leak in leaks] == ["LISTED", "LISTED"]


def test_secrets_only_the_redactor_sees_are_counted_too():
    customer = "my pin is 4921, please check"
    assert _leaked(customer, "Your PIN 4921 is set") == ["PIN"]


def test_reports_are_scrubbed_of_broad_values():
    customer = "the locker combination 482913 did not open"
    assert scrub("echo: 482913", pii_values(customer)) == "echo: [ACCOUNT]"
