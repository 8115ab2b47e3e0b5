"""The import's e-mail and phone checks give exactly the customers' normalisers' answers.

The import memoises values and takes a short path for canonical ones; these
tests run the import's ``Normalisers`` and the customers' functions side by
side on tricky inputs and on generated ones, and require the same accepted
value or the same refusal message.
"""

from __future__ import annotations

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.customers.services import normalise_email, normalise_phone
from rapport.dataio.services import Normalisers, canonical_phone

TRICKY_EMAILS = [
    "ann@example.com", "Ann.Lee@Example.COM", " ann@example.com ", "ann@example.com.",
    "ann@@example.com", "ann@", "@example.com", "ann", "ann lee@example.com",
    "ann..lee@example.com", ".ann@example.com", "ann.@example.com", "ann+tag@example.com",
    "ann_lee-1@sub.example.co.uk", "\"ann lee\"@example.com", "ann@localhost", "ann@example",
    "ann@test", "ann@foo.test", "ann@foo.local", "ann@foo.invalid", "ann@123.123.123.123",
    "ann@[127.0.0.1]", "ann@exa_mple.com", "ann@-example.com", "ann@example-.com",
    "ann@xn--bcher-kva.com", "ann@bücher.com", "ÄNN@example.com", "ann@EXAMPLE.com",
    "Ann <ann@example.com>", "a" * 64 + "@example.com", "a" * 65 + "@example.com",
    "a@" + "b" * 63 + ".com", "a@" + "b" * 64 + ".com", "a" * 200 + "@" + "b" * 60 + ".com",
    "ann@example.com@example.com", "ann@ex ample.com", "postmaster@example.com",
    "ann@123.com", "ann@example.123", "ann@example.c", "ann#x@example.com", "",
]  # fmt: skip
TRICKY_PHONES = [
    "+49301234567", "+49 30 1234567", "+49-30-1234567", "+490301234567", "+49 030 1234567",
    "+4930", "+49", "+1", "+12025550100", "+1 202 555 0100", "+1-202-555-0100",
    "+112025550100", "+39 06 1234 5678", "+390612345678", "+44 20 7946 0958",
    "+442079460958", "+4402079460958", "+800 1234 5678", "+80012345678", "+999123456",
    "+0123456789", "+49  30 1234567", "+49 30 1234567 ", "030 1234567", "0301234567",
    "+49 (30) 1234567", "+49 30 1234567 ext. 12", "+49 30 1234567x12", "+4930123456789012345",
    "+7 495 123 45 67", "+7 8 495 123 45 67", "+54 9 11 1234 5678", "+5491112345678",
    "+52 1 55 1234 5678", "+52 55 1234 5678", "+86 10 1234 5678", "+8610 12345678",
    "+61 2 1234 5678", "+61 02 1234 5678", "+33 1 23 45 67 89", "+33 01 23 45 67 89",
    "+353 1 234 5678", "+351 21 123 4567", "+290 1234", "+882 1234 5678", "+-49301234567",
    "+49 -30 1234567", "+49--30-1234567", "phone", "", "+", "++49301234567",
]  # fmt: skip


def full(function: object, raw: str) -> tuple[str, object]:
    try:
        return "ok", function(raw)  # type: ignore[operator]
    except ValidationError as error:
        return "refused", error.messages


def fast_email(normalisers: Normalisers, raw: str) -> tuple[str, object]:
    try:
        return "ok", normalisers.email(raw)
    except ValidationError as error:
        return "refused", error.messages


def fast_phone(normalisers: Normalisers, raw: str) -> tuple[str, object]:
    try:
        phone = normalisers.phone(raw)
    except ValidationError as error:
        return "refused", error.messages
    # search indexes the national number the customers' search would find
    assert phone.national == str(phonenumbers.parse(phone.e164).national_number), raw
    return "ok", phone.e164


def test_emails_are_accepted_and_refused_as_the_customers_service_does() -> None:
    normalisers = Normalisers()
    # Twice, in both orders: the second pass goes through the memo and the
    # known-domain short path.
    for raw in [*TRICKY_EMAILS, *reversed(TRICKY_EMAILS), *TRICKY_EMAILS]:
        assert fast_email(normalisers, raw) == full(normalise_email, raw), raw
    assert normalisers.domains, "the short path was never taken"


@pytest.mark.parametrize("region", [None, "DE", "US"])
def test_phones_are_accepted_and_refused_as_the_customers_service_does(region: str | None) -> None:
    with override_settings(PHONE_REGION=region):
        normalisers = Normalisers()
        for raw in [*TRICKY_PHONES, *TRICKY_PHONES]:
            assert fast_phone(normalisers, raw) == full(normalise_phone, raw), raw


def test_the_short_path_is_taken_for_canonical_numbers_and_not_for_rewritten_ones() -> None:
    assert canonical_phone("+49 30 1234567") is not None
    assert canonical_phone("+49301234567") is not None
    # a national prefix after the country code: the full parse rewrites it
    assert canonical_phone("+490301234567") is None
    # Italian numbers keep their leading zero: left to the full parse
    assert canonical_phone("+390612345678") is None


local_parts = st.text(
    alphabet=st.sampled_from("abcXYZ019._+-\"!#$%&'*/=?^`{|}~ @äé"), min_size=0, max_size=70
)
domains = st.sampled_from(
    ["example.com", "Example.COM", "sub.example.co.uk", "localhost", "foo.test", "x.local",
     "exa_mple.com", "-bad.com", "b" * 64 + ".com", "bücher.de", "123.123.123.123", "ex.123",
     "[127.0.0.1]", "", "example.com.", "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + ".com"]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(local_parts, domains), min_size=1, max_size=8))
def test_generated_emails_match_the_full_check(addresses: list[tuple[str, str]]) -> None:
    normalisers = Normalisers()
    for local, domain in [*addresses, *addresses]:
        raw = f"{local}@{domain}"
        assert fast_email(normalisers, raw) == full(normalise_email, raw), raw


phones = st.builds(
    lambda plus, groups, separator: plus + separator.join(groups),
    st.sampled_from(["+", "+", "", "++"]),
    st.lists(st.text(alphabet="0123456789", min_size=1, max_size=6), min_size=1, max_size=5),
    st.sampled_from(["", " ", "-", "  ", ".", " - "]),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(phones, min_size=1, max_size=8))
def test_generated_phones_match_the_full_check(numbers: list[str]) -> None:
    normalisers = Normalisers()
    for raw in [*numbers, *numbers]:
        assert fast_phone(normalisers, raw) == full(normalise_phone, raw), raw


@pytest.mark.parametrize(
    "text",
    ["Ann Lee", "ANN.lee+tag@Example.COM", "Zoë Łukasz", "o'brien-smith", "", "  ", "ﬁne ①",
     "x_y@sub.example.co.uk", "Ärger@bücher.de", "123 Main St."],
)  # fmt: skip
def test_search_keys_of_the_bulk_path_are_those_of_the_search_index(text: str) -> None:
    from rapport.dataio.services import _email_keys, _tokens
    from rapport.search import index

    assert _tokens(text) == index.tokens(text)
    assert _email_keys(text) == index.email_keys(text)
