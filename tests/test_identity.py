"""Meta's normalisation and hashing, on messy real-world input (docs/META_CAPI.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync.core import identity
from sheetsync.core.identity import Normalised, hashed, sha256

# Meta's documented test vectors: normalised value → SHA-256 prefix.
VECTORS = [
    ("john_smith@gmail.com", "62a14e44"),
    ("16505551212", "e323ec62"),
    ("mary", "6915771b"),
    ("19970216", "01acdbf6"),
    ("us", "79adb2a2"),
    ("f", "252f10c8"),
]


@pytest.mark.parametrize(("value", "prefix"), VECTORS)
def test_metas_test_vectors(value: str, prefix: str) -> None:
    assert sha256(value).startswith(prefix)


# The same vectors reached from cells as people type them: normaliser, then hash.
TYPED_VECTORS = [
    (identity.normalise_email, " John_Smith@Gmail.com ", "62a14e44"),
    (lambda cell: identity.normalise_phone(cell, "US"), "+1 (650) 555-1212", "e323ec62"),
    (lambda cell: identity.normalise_phone(cell, "US"), "650.555.1212", "e323ec62"),
    (identity.normalise_name, " Mary ", "6915771b"),
    (lambda cell: identity.normalise_date_of_birth(cell, "mdy"), "02/16/1997", "01acdbf6"),
    (identity.normalise_country, "United States", "79adb2a2"),
    (identity.normalise_gender, "Female", "252f10c8"),
]


@pytest.mark.parametrize(("normalise", "cell", "prefix"), TYPED_VECTORS)
def test_metas_test_vectors_from_typed_cells(
    normalise: Callable[[object], Normalised], cell: str, prefix: str
) -> None:
    normalised = normalise(cell)
    assert not normalised.problems
    assert [hashed(value)[:8] for value in normalised.values] == [prefix]


NORMALISERS: dict[str, Callable[[object, object], Normalised]] = {
    "phone": identity.normalise_phone,  # type: ignore[arg-type]
    "email": lambda value, _: identity.normalise_email(value),
    "name": lambda value, _: identity.normalise_name(value),
    "city": lambda value, _: identity.normalise_city(value),
    "state": identity.normalise_state,  # type: ignore[arg-type]
    "zip": identity.normalise_zip,  # type: ignore[arg-type]
    "country": lambda value, _: identity.normalise_country(value),
    "dob": lambda value, order: identity.normalise_date_of_birth(value, order or "mdy"),  # type: ignore[arg-type]
    "gender": lambda value, _: identity.normalise_gender(value),
    "external_id": lambda value, _: identity.normalise_external_id(value),
}

HASHED_EMAIL = sha256("john_smith@gmail.com")
MESSY = [
    # phones: US, GB, DE, FR, ES, NL, IN, BR, AU, JP, CN, MX, CA, IT, KR, ZA, SE, PL
    ("phone", "(650) 555-1212", "US", "16505551212"),
    ("phone", "650.555.1212", "US", "16505551212"),
    ("phone", "+1 650-555-1212 ext. 3", "US", "16505551212"),
    ("phone", "tel: 650 555 1212", "US", "16505551212"),
    ("phone", "1-650-555-1212", "US", "16505551212"),
    ("phone", "16505551212", "US", "16505551212"),
    ("phone", 6505551212.0, "US", "16505551212"),
    ("phone", "020 7946 0958", "GB", "442079460958"),
    ("phone", "+44 (0)20 7946 0958", "US", "442079460958"),
    ("phone", "07911 123456", "GB", "447911123456"),
    ("phone", "0044 7911 123456", "US", "447911123456"),
    ("phone", "442079460958", "US", "442079460958"),
    ("phone", "030 1234567", "DE", "49301234567"),
    ("phone", "+49 30 1234567", "US", "49301234567"),
    ("phone", "0151 23456789", "DE", "4915123456789"),
    ("phone", "01 23 45 67 89", "FR", "33123456789"),
    ("phone", "+33 6 12 34 56 78", "US", "33612345678"),
    ("phone", "612 34 56 78", "ES", "34612345678"),
    ("phone", "+34 612345678", None, "34612345678"),
    ("phone", "06 12345678", "NL", "31612345678"),
    ("phone", "+31 6 12345678", None, "31612345678"),
    ("phone", "98765 43210", "IN", "919876543210"),
    ("phone", "+91 98765-43210", None, "919876543210"),
    ("phone", "(11) 91234-5678", "BR", "5511912345678"),
    ("phone", "+55 11 91234 5678", None, "5511912345678"),
    ("phone", "0412 345 678", "AU", "61412345678"),
    ("phone", "+61 412 345 678", None, "61412345678"),
    ("phone", "090-1234-5678", "JP", "819012345678"),
    ("phone", "+81 90 1234 5678", None, "819012345678"),
    ("phone", "138 0013 8000", "CN", "8613800138000"),
    ("phone", "+86 138 0013 8000", None, "8613800138000"),
    ("phone", "55 1234 5678", "MX", "525512345678"),
    ("phone", "+52 1 55 1234 5678", None, "525512345678"),
    ("phone", "416-555-0123", "CA", "14165550123"),
    ("phone", "06 1234 5678", "IT", "390612345678"),
    ("phone", "010-1234-5678", "KR", "821012345678"),
    ("phone", "082 123 4567", "ZA", "27821234567"),
    ("phone", "070-123 45 67", "SE", "46701234567"),
    ("phone", "512 345 678", "PL", "48512345678"),
    ("phone", "+1 650 555 1212, +44 20 7946 0958", "US", ("16505551212", "442079460958")),
    ("phone", "650-555-1212\n650-555-1212", "US", "16505551212"),
    ("phone", sha256("16505551212").upper(), None, sha256("16505551212")),
    ("phone", "555", "US", "!phone has too few digits (3 digits)"),
    ("phone", "call me", "US", "!phone has no digits"),
    ("phone", "+999 123456", None, "!phone is not a phone number"),
    ("phone", "6505551212", None, "!phone has no country code"),
    ("phone", "12345678901234567890", "US", "!phone is not a phone number (20 digits)"),
    ("phone", "", "US", ()),
    # emails
    ("email", "John_Smith@Gmail.com", None, "john_smith@gmail.com"),
    ("email", " ANN@EXAMPLE.COM ", None, "ann@example.com"),
    ("email", "mailto:bob@example.com", None, "bob@example.com"),
    ("email", "a@b.co; c@d.io", None, ("a@b.co", "c@d.io")),
    ("email", "a@b.co,\nA@B.CO", None, "a@b.co"),
    ("email", "Ünïcode@Exämple.de", None, "ünïcode@exämple.de"),
    ("email", HASHED_EMAIL.upper(), None, HASHED_EMAIL),
    ("email", "bob@@example.com", None, "!email is not a valid address (it needs exactly one @)"),
    ("email", "bob@example", None, "!the part after @ needs a domain"),
    ("email", "bad email", None, "!email is not a valid address"),
    ("email", "", None, ()),
    # names, in several scripts
    ("name", "Mary", None, "mary"),
    ("name", "  O'Brien ", None, "obrien"),
    ("name", "José", None, "josé"),
    ("name", "Jose\u0301", None, "josé"),  # decomposed accent → NFC
    ("name", "Zoë-Anne", None, "zoëanne"),
    ("name", "Élodie", None, "élodie"),
    ("name", "山田", None, "山田"),
    ("name", "Мария", None, "мария"),
    ("name", "محمد", None, "محمد"),
    ("name", "Ng, Jr.", None, "ng jr"),
    ("name", "ÅSA", None, "åsa"),
    ("name", "straße", None, "straße"),
    ("name", "Mary  Ann", None, "mary ann"),
    ("name", "Ελένη", None, "ελένη"),
    ("name", "", None, ()),
    # cities
    ("city", "New York", None, "newyork"),
    ("city", "San Francisco", None, "sanfrancisco"),
    ("city", "Saint-Étienne", None, "saintétienne"),
    ("city", "St. Louis", None, "stlouis"),
    ("city", "MÜNCHEN", None, "münchen"),
    ("city", "Tokyo ", None, "tokyo"),
    ("city", "São Paulo", None, "sãopaulo"),
    # states and provinces
    ("state", "California", "us", "ca"),
    ("state", "CA", "us", "ca"),
    ("state", "ca", None, "ca"),
    ("state", "Texas", None, "tx"),
    ("state", "N.Y.", "us", "ny"),
    ("state", "new york", "us", "ny"),
    ("state", "Ontario", "ca", "on"),
    ("state", "Quebec", None, "qc"),
    ("state", "Québec", "ca", "qc"),
    ("state", "British Columbia", None, "bc"),
    ("state", "Bavaria", "de", "bavaria"),
    ("state", "New South Wales", "au", "nsw"),
    # zips
    ("zip", "94107-1234", "us", "94107"),
    ("zip", "94107", "us", "94107"),
    ("zip", "2139", "us", "02139"),
    ("zip", 2139.0, "us", "02139"),
    ("zip", "SW1A 1AA", "gb", "sw1a1aa"),
    ("zip", "10115", "de", "10115"),
    ("zip", "K1A 0B1", "ca", "k1a0b1"),
    # countries
    ("country", "United States", None, "us"),
    ("country", "USA", None, "us"),
    ("country", "U.S.", None, "us"),
    ("country", "us", None, "us"),
    ("country", "United Kingdom", None, "gb"),
    ("country", "UK", None, "gb"),
    ("country", "Germany", None, "de"),
    ("country", "DEU", None, "de"),
    ("country", "Deutschland", None, "de"),
    ("country", "France", None, "fr"),
    ("country", "España", None, "es"),
    ("country", "Brazil", None, "br"),
    ("country", "Japan", None, "jp"),
    ("country", "日本", None, "jp"),
    ("country", "Korea, Republic of", None, "kr"),
    ("country", "South Korea", None, "kr"),
    ("country", "Viet Nam", None, "vn"),
    ("country", "Vietnam", None, "vn"),
    ("country", "Russia", None, "ru"),
    ("country", "Czech Republic", None, "cz"),
    ("country", "Narnia", None, "!country 'Narnia' is not a country name or code"),
    # dates of birth, in several formats
    ("dob", "02/16/1997", "mdy", "19970216"),
    ("dob", "16/02/1997", "dmy", "19970216"),
    ("dob", "1997-02-16", "mdy", "19970216"),
    ("dob", "1997/02/16", "dmy", "19970216"),
    ("dob", "Feb 16, 1997", "mdy", "19970216"),
    ("dob", "February 16 1997", "mdy", "19970216"),
    ("dob", "16 February 1997", "dmy", "19970216"),
    ("dob", "16 Feb 1997", "dmy", "19970216"),
    ("dob", "16.02.1997", "dmy", "19970216"),
    ("dob", "19970216", "mdy", "19970216"),
    ("dob", 35477, "mdy", "19970216"),
    ("dob", "2/16/97", "mdy", "19970216"),
    ("dob", "not a date", "mdy", "!date of birth 'not a date' is not a date"),
    ("dob", "02/30/1997", "mdy", "!is not a date"),
    # genders
    ("gender", "F", None, "f"),
    ("gender", "female", None, "f"),
    ("gender", "Woman", None, "f"),
    ("gender", "M", None, "m"),
    ("gender", "Male", None, "m"),
    ("gender", "man", None, "m"),
    ("gender", "x", None, ()),
    ("gender", "Non-binary", None, ()),
    ("zip", "02139-4307", "us", "02139"),
    ("zip", " 75008 ", "fr", "75008"),
    ("city", "Los Ángeles", None, "losángeles"),
    ("city", "Winston–Salem", None, "winstonsalem"),
    ("email", "\tmixed.Case+tag@Sub.Example.ORG ", None, "mixed.case+tag@sub.example.org"),
    ("country", "Great Britain", None, "gb"),
    ("gender", "Female.", None, "f"),
    # external ids
    ("external_id", "CRM-0042", None, "CRM-0042"),
    ("external_id", " 42 ", None, "42"),
    ("external_id", 42.0, None, "42"),
]


@pytest.mark.parametrize(
    ("field", "value", "extra", "expected"), MESSY, ids=[f"{f}:{v!r}"[:60] for f, v, _, _ in MESSY]
)
def test_messy_inputs(
    field: str, value: object, extra: object, expected: str | tuple[str, ...]
) -> None:
    result = NORMALISERS[field](value, extra)
    if isinstance(expected, str) and expected.startswith("!"):
        assert result.values == ()
        assert any(expected[1:] in problem for problem in result.problems), result.problems
    else:
        assert result.problems == ()
        assert result.values == ((expected,) if isinstance(expected, str) else expected)


def test_the_table_is_large_and_wide() -> None:
    assert len(MESSY) >= 150
    assert len({extra for field, _, extra, _ in MESSY if field == "phone" and extra}) >= 10


@pytest.mark.parametrize(
    ("value", "lead_id", "problem"),
    [
        ("1234567890123456", 1234567890123456, None),
        ("l:1234567890123456", 1234567890123456, None),
        (" 123456789012345 ", 123456789012345, None),
        ("1234 5678 9012 3456", 1234567890123456, None),
        (123456789012345, 123456789012345, None),  # 15 digits survive as a number
        (
            "1.23457E+15",
            None,
            "was rounded by Sheets (scientific notation); format the Lead ID column as plain text",
        ),
        (1234567890123450.0, None, "lost digits because Sheets stored it as a number"),
        (12345678901234560, None, "lost digits because Sheets stored it as a number"),
        ("12345", None, "has 5 digits; Meta's lead ids have 15–17"),
        ("abc", None, "is not a number"),
        ("", None, None),
    ],
)
def test_lead_ids(value: object, lead_id: int | None, problem: str | None) -> None:
    got, why = identity.lead_id_from_cell(value)
    assert got == lead_id
    assert (why is None) if problem is None else (problem in (why or ""))


@pytest.mark.parametrize(
    ("value", "fbc", "fbclid", "problem"),
    [
        ("IwAR2xYz_AbC-123", None, "IwAR2xYz_AbC-123", None),
        (
            "https://shop.example.com/?utm_source=fb&fbclid=IwAR2xYz_AbC-123&x=1",
            None,
            "IwAR2xYz_AbC-123",
            None,
        ),
        ("fb.1.1795000000000.IwAR2xYz_AbC-123", "fb.1.1795000000000.IwAR2xYz_AbC-123", None, None),
        ("fb.1.1795000000000.IwAR2xYz.AQ", "fb.1.1795000000000.IwAR2xYz.AQ", None, None),
        ("fb.1.179.IwAR", None, None, "badly formed"),
        ("https://shop.example.com/landing", None, None, "has no fbclid= in it"),
        ("ab", None, None, "is not an fbclid"),
    ],
)
def test_click_ids(value: str, fbc: str | None, fbclid: str | None, problem: str | None) -> None:
    click = identity.click_id_from_cell(value)
    assert (click.fbc, click.fbclid) == (fbc, fbclid)
    assert (click.problems == ()) if problem is None else problem in click.problems[0]


def test_fbc_keeps_the_click_id_byte_for_byte() -> None:
    assert (
        identity.build_fbc("IwAR2xYz_AbC-123", 1795000000000)
        == "fb.1.1795000000000.IwAR2xYz_AbC-123"
    )


# --- properties ---------------------------------------------------------------------------
any_cell = st.one_of(
    st.text(max_size=60), st.integers(-(10**20), 10**20), st.floats(allow_nan=True), st.booleans()
)
countries = st.sampled_from([None, "US", "GB", "DE", "IN", "BR", "JP"])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(NORMALISERS)), any_cell, countries)
def test_no_exception_escapes_for_any_input(field: str, value: object, country: str | None) -> None:
    extra = ("dmy" if country else "mdy") if field == "dob" else country
    result = NORMALISERS[field](value, extra)
    assert isinstance(result, Normalised)
    identity.lead_id_from_cell(value)
    identity.click_id_from_cell(value)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(NORMALISERS)), st.text(max_size=40), countries)
def test_normalising_is_idempotent(field: str, value: str, country: str | None) -> None:
    extra = "mdy" if field == "dob" else country
    once = NORMALISERS[field](value, extra)
    for normalised in once.values:
        again = NORMALISERS[field](_as_written(field, normalised), extra)
        assert again.values == (normalised,), (value, normalised, again)


def _as_written(field: str, normalised: str) -> str:
    """A normalised phone is E.164 without its +. Bare digits are ambiguous (98111000 is a valid
    German national number and an Iranian one with its country code), so the idempotence that
    holds is of the E.164 form."""
    return (
        "+" + normalised if field == "phone" and not identity.is_sha256(normalised) else normalised
    )


phone_like = st.from_regex(r"\+?[0-9 ().-]{7,18}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(phone_like, countries)
def test_phone_normalising_is_idempotent(value: str, country: str | None) -> None:
    for normalised in identity.normalise_phone(value, country).values:
        assert identity.normalise_phone("+" + normalised, country).values == (normalised,)
        assert identity.normalise_phone(normalised, None).values == (normalised,)


@given(st.text(max_size=40))
def test_hashing_is_applied_exactly_once(value: str) -> None:
    once = hashed(value)
    assert identity.is_sha256(once)
    assert hashed(once) == once


# --- moments (Created and stage dates) -----------------------------------------------------
PARIS_SUMMER = timedelta(hours=2)


@pytest.mark.parametrize(
    ("cell", "order", "offset", "moment"),
    [
        (45000.5, "mdy", timedelta(), 1678881600),  # a serial keeps its time of day
        (45000.5, "mdy", PARIS_SUMMER, 1678881600 - 7200),  # typed in the sheet's zone
        (1, "mdy", timedelta(), -2209075200),  # 1899-12-31
        (0.5, "mdy", timedelta(), None),  # not a date serial
        (2958466, "mdy", timedelta(), None),  # past year 9999
        (True, "mdy", timedelta(), None),
        ("", "mdy", timedelta(), None),
        ("2023-03-15 12:00:30", "mdy", timedelta(), 1678881630),
        ("2023-03-15 12:00", "mdy", PARIS_SUMMER, 1678881600 - 7200),
        ("2023-03-15T12:00:00", "mdy", timedelta(), 1678881600),
        ("2023-03-15T12:00:00Z", "mdy", timedelta(), 1678881600),
        ("2023-03-15T12:00:00Z", "mdy", PARIS_SUMMER, 1678881600),  # Z: UTC, whatever the sheet
        ("03/15/2023 12:00", "mdy", timedelta(), 1678881600),
        ("03/15/2023 12:00:00", "mdy", timedelta(), 1678881600),
        ("15/03/2023 12:00", "dmy", timedelta(), 1678881600),
        ("15/03/2023 12:00:00", "dmy", timedelta(), 1678881600),
        ("15/03/2023 12:00", "mdy", timedelta(), None),  # no 15th month
        ("03/15/2023 12:00", "dmy", timedelta(), None),
        ("2023-03-15", "mdy", timedelta(), 1678838400),  # a date alone: its midnight
        ("2023-03-15", "mdy", PARIS_SUMMER, 1678838400 - 7200),
        ("someday", "mdy", timedelta(), None),
    ],
)
def test_parse_moment(cell: object, order: str, offset: timedelta, moment: int | None) -> None:
    assert identity.parse_moment(cell, order, offset) == moment


def test_parse_moment_reads_month_first_by_default() -> None:
    assert identity.parse_moment("03/04/2023 10:00") == 1677924000  # 4 March
    assert identity.parse_moment("03/04/2023 10:00", "dmy") == 1680516000  # 3 April


def test_a_birthday_in_the_future_is_dropped_with_a_problem() -> None:
    from datetime import date

    today = date(2026, 12, 3)
    assert identity.normalise_date_of_birth("2026-12-03", "mdy", today).values == ("20261203",)
    future = identity.normalise_date_of_birth("2027-01-01", "mdy", today)
    assert future.values == ()
    assert future.problems == ("date of birth '2027-01-01' is in the future; not sent",)


PLACEHOLDER_CELLS = ["N/A", "n/a", "-", "none", "Unknown", "NULL", "?", " — ", "n.a.", "TBD"]


@pytest.mark.parametrize("field", sorted(NORMALISERS))
@pytest.mark.parametrize("cell", PLACEHOLDER_CELLS)
def test_placeholders_are_empty_in_every_field(field: str, cell: str) -> None:
    assert NORMALISERS[field](cell, "US") == Normalised()


@given(
    st.sampled_from(sorted(NORMALISERS)),
    st.sampled_from(PLACEHOLDER_CELLS),
    st.sampled_from(["", " ", "  "]),
)
def test_a_placeholder_is_never_hashed(field: str, cell: str, padding: str) -> None:
    assert NORMALISERS[field](padding + cell.upper() + padding, None).values == ()


def test_placeholders_leave_lead_ids_and_click_ids_empty() -> None:
    assert identity.lead_id_from_cell("N/A") == (None, None)
    assert identity.click_id_from_cell("-") == identity.ClickId()


@pytest.mark.parametrize(
    "cell",
    [
        "john_smith@gmail.com\u200b",
        "\ufeffjohn_smith@gmail.com",
        "john\u200b_smith@gmail.com",
        "\u00a0John_Smith@Gmail.com\u00a0",
        "MAILTO:john_smith@gmail.com",
        "Mailto:John_Smith@gmail.com",
        "john_smith@gm\u00adail.com",
    ],
)
def test_emails_with_invisible_characters_or_mailto(cell: str) -> None:
    assert identity.normalise_email(cell) == Normalised(("john_smith@gmail.com",))


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("john@gmail..com", "two dots in a row"),
        ("john..smith@gmail.com", "two dots in a row"),
        (".john@gmail.com", "a dot at an end"),
        ("john@gmail.c", "'.c' is not a top-level domain"),
        ("john@gmail.c0m", "'.c0m' is not a top-level domain"),
        ("john@-gmail.com", "its domain is malformed"),
    ],
)
def test_undeliverable_emails_are_not_sent(cell: str, why: str) -> None:
    result = identity.normalise_email(cell)
    assert result.values == ()
    assert len(result.problems) == 1 and why in result.problems[0]
    assert result.problems[0].startswith("email cannot receive mail (")


@given(
    st.sampled_from(["\u200b", "\ufeff", "\u00a0", "\u200d", "\u2060"]),
    st.integers(0, len("john_smith@gmail.com")),
)
def test_an_invisible_character_anywhere_changes_nothing(char: str, at: int) -> None:
    email = "john_smith@gmail.com"
    assert identity.normalise_email(email[:at] + char + email[at:]).values == (email,)


@pytest.mark.parametrize(
    "cell",
    [
        "+1 650 555 1212 (mobile)",
        "+1 650 555 1212 mob.",
        "+1 650 555 1212 cell",
        "+1 650-555-1212 [work]",
        "+1 650 555 1212 - home",
        "+1 650 555 1212 ext. 12",
        "+1 650 555 1212 x12",
        "Mobile: +1 650 555 1212",
    ],
)
def test_phones_with_a_label_or_extension(cell: str) -> None:
    assert identity.normalise_phone(cell, "US") == Normalised(("16505551212",))


@given(st.sampled_from(["(mobile)", "mob.", "cell", "[work]", "- home", "ext. 12", "Office"]))
def test_a_trailing_label_never_makes_a_number_unreadable(label: str) -> None:
    assert identity.normalise_phone(f"(650) 555-1212 {label}", "US").values == ("16505551212",)


@pytest.mark.parametrize(
    ("cell", "order", "hashed_value"),
    [
        ("31.01.1990", "mdy", "19900131"),  # dotted day-first: a 31st month does not exist
        ("31-Jan-1990", "mdy", "19900131"),
        ("Sept 5, 1988", "mdy", "19880905"),
        ("5 September 1988", "dmy", "19880905"),
        ("September 5th, 1988", "mdy", "19880905"),
        ("5. Sep. 1988", "dmy", "19880905"),
        ("16/02/1997", "mdy", "19970216"),  # day above 12: only one reading
        ("02/16/1997", "dmy", "19970216"),
        ("03/04/1997", "mdy", "19970304"),  # truly ambiguous: the job's order
        ("03/04/1997", "dmy", "19970403"),
        ("1990-01-31T00:00:00Z", "mdy", "19900131"),
        ("1990-01-31T00:00:00+02:00", "dmy", "19900131"),
        ("1990-01-31 08:15", "mdy", "19900131"),
        ("29.02.1992", "dmy", "19920229"),  # a leap day
        ("19970216", "mdy", "19970216"),
        ("1997/02/16", "mdy", "19970216"),
        ("2/16/97", "mdy", "19970216"),
    ],
)
def test_dates_of_birth_as_people_write_them(cell: str, order: str, hashed_value: str) -> None:
    assert identity.normalise_date_of_birth(cell, order).values == (hashed_value,)


@pytest.mark.parametrize("cell", ["29.02.1991", "31/02/1990", "Jan Feb 1990", "13/13/1990", "1990"])
def test_impossible_dates_of_birth_are_problems(cell: str) -> None:
    result = identity.normalise_date_of_birth(cell, "mdy")
    assert result.values == () and result.problems


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
    st.sampled_from(["mdy", "dmy"]),
)
def test_any_date_written_in_a_common_way_reads_back(day: date, order: str) -> None:
    expected = (day.strftime("%Y%m%d"),)
    month_name = day.strftime("%B")
    for written in (
        day.isoformat(),
        f"{day.day} {month_name} {day.year}",
        f"{month_name[:3]} {day.day}, {day.year}",
        f"{day.day:02d}.{day.month:02d}.{day.year}"
        if order == "dmy"
        else f"{day.month:02d}/{day.day:02d}/{day.year}",
    ):
        assert identity.normalise_date_of_birth(written, order).values == expected, written


FBCLID = "IwAR2xY-zAbC_123"


@pytest.mark.parametrize(
    "cell",
    [
        FBCLID,
        f"fbclid={FBCLID}",
        f"https://shop.example/landing?utm_source=fb&fbclid={FBCLID}",
        f"https://shop.example/landing?fbclid={FBCLID.replace('-', '%2D')}",  # encoded once
        f"https://shop.example/landing?fbclid={FBCLID.replace('-', '%252D')}",  # twice
        f"https%3A%2F%2Fshop.example%2Flanding%3Fa%3D1%26fbclid%3D{FBCLID}",  # the whole URL
        f"https://shop.example/#fbclid={FBCLID}",
    ],
)
def test_click_ids_however_they_were_pasted(cell: str) -> None:
    assert identity.click_id_from_cell(cell) == identity.ClickId(fbclid=FBCLID)


@pytest.mark.parametrize(
    "cell",
    [
        "fb.1.1700000000000.IwAR2xYzAbC",
        "fb.1.1700000000.IwAR2xYzAbC",  # creation time in seconds: Meta's tooling wrote these
        "fb.2.1700000000000.IwAR2xY-zAbC.AbCd",
    ],
)
def test_a_ready_fbc_is_kept_byte_for_byte(cell: str) -> None:
    assert identity.click_id_from_cell(cell) == identity.ClickId(fbc=cell)


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("https://shop.example/landing?utm_source=fb", "has no fbclid= in it"),
        ("https%3A%2F%2Fshop.example%2Flanding", "has no fbclid= in it"),
        ("fb.1.17.x", "looks like an fbc value but is badly formed"),
        ("call me", "is not an fbclid"),
    ],
)
def test_what_is_not_a_click_id_is_refused_with_a_reason(cell: str, why: str) -> None:
    result = identity.click_id_from_cell(cell)
    assert (result.fbc, result.fbclid) == (None, None)
    assert len(result.problems) == 1 and why in result.problems[0]


@given(
    st.text(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        min_size=8,
        max_size=40,
    ),
    st.integers(0, 2),
)
def test_an_fbclid_survives_any_depth_of_url_encoding(fbclid: str, depth: int) -> None:
    from urllib.parse import quote

    url = f"https://shop.example/p?x=1&fbclid={fbclid}"
    for _ in range(depth):
        url = quote(url, safe="")
    assert identity.click_id_from_cell(url).fbclid == fbclid


@pytest.mark.parametrize(
    ("cell", "country", "code"),
    [
        ("Ontario", "CA", "on"),
        ("Québec", "CA", "qc"),
        ("Quebec", None, "qc"),
        ("Ontario", "US", "on"),  # a US default country still reads a Canadian province
        ("British Columbia", "US", "bc"),
        ("Washington D.C.", "US", "dc"),
        ("District of Columbia", None, "dc"),
        ("Washington", "US", "wa"),
        ("NY", "US", "ny"),
        ("Bavaria", "DE", "bavaria"),  # outside North America: lower case, no punctuation
    ],
)
def test_states_and_provinces(cell: str, country: str | None, code: str) -> None:
    assert identity.normalise_state(cell, country) == Normalised((code,))


@pytest.mark.parametrize(
    ("cell", "code"),
    [("Female", "f"), ("weiblich", "f"), ("Mujer", "f"), ("M", "m"), ("Männlich", "m"),
     ("masculino", "m"), ("w", None), ("x", None), ("diverse", None)],
)  # fmt: skip
def test_gender_words(cell: str, code: str | None) -> None:
    assert identity.normalise_gender(cell).values == ((code,) if code else ())
    assert identity.normalise_gender(cell).problems == ()  # other answers are simply not sent


@pytest.mark.parametrize(
    ("cell", "value"),
    [("Mary Jane", "mary jane"), ("Smith Jr.", "smith jr"), ("van der Berg", "van der berg"),
     ("O'Brien", "obrien"), ("José", "josé"), ("  ANN  ", "ann")],
)  # fmt: skip
def test_names_keep_inner_spaces_and_letters(cell: str, value: str) -> None:
    assert identity.normalise_name(cell).values == (value,)


@given(st.sampled_from(["US", "CA"]), st.sampled_from(["US", "CA", None]), st.data())
def test_every_us_state_and_canadian_province_reads_as_its_code(
    home: str, default: str | None, data: st.DataObject
) -> None:
    import pycountry

    subdivision = data.draw(st.sampled_from(list(pycountry.subdivisions.get(country_code=home))))
    code = subdivision.code.split("-")[1].lower()
    assert identity.normalise_state(subdivision.name, default).values == (code,)
    assert identity.normalise_state(subdivision.name.upper(), default).values == (code,)
