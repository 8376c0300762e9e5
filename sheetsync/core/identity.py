"""Meta's normalisation and hashing of customer information (docs/META_CAPI.md).

Pure functions. Each normaliser takes what a cell holds and returns the
normalised values with any problems, written for the sales team ("phone '555'
is too short"). Nothing here raises on bad input: a bad value is a problem,
never an exception. Values that are already SHA-256 hex pass through unhashed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import unquote

import phonenumbers
import pycountry

from sheetsync.core.text import cell_text, is_placeholder, quoted

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SPLIT = re.compile(r"[,;\n]+")
_SHEETS_EPOCH = date(1899, 12, 30)
# Keys Meta can match on their own; names, gender and places only help alongside them.
STRONG_KEYS = ("lead_id", "fbc", "fbp", "em", "ph", "external_id")


@dataclass(frozen=True)
class Normalised:
    values: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClickId:
    """A ready fbc value, or a bare fbclid still waiting for its click time."""

    fbc: str | None = None
    fbclid: str | None = None
    problems: tuple[str, ...] = field(default=())


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_sha256(text: str) -> bool:
    return bool(_HEX64.match(text))


def hashed(value: str) -> str:
    """Hash a normalised value once; a value that is already a SHA-256 hex passes through."""
    return value.lower() if is_sha256(value) else sha256(value)


def _text(cell: object) -> str:
    """The cell as text to normalise; a placeholder (`N/A`, `-`, `unknown`) is an empty cell."""
    text = unicodedata.normalize("NFC", cell_text(cell))
    return "" if is_placeholder(text) else text


def _pieces(cell: object) -> list[str]:
    return [piece.strip() for piece in _SPLIT.split(_text(cell)) if piece.strip()]


def _one(value: str | None, problem: str | None = None) -> Normalised:
    if problem:
        return Normalised((), (problem,))
    return Normalised((value,) if value else ())


# --- email and phone ------------------------------------------------------------
# Problems about emails and phones never quote the value: the row shows it already,
# and these texts also reach logs, where raw personal data must never appear.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00a0\u202f\u00ad]")
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)


def _email_flaw(email: str) -> str:
    if email.count("@") != 1:
        return "it needs exactly one @"
    if " " in email:
        return "it has a space in it"
    return "the part after @ needs a domain such as example.com"


def _undeliverable(email: str) -> str | None:
    """Why mail could not reach this syntactically valid address, if it could not."""
    local, domain = email.rsplit("@", 1)
    if ".." in local or ".." in domain or local.startswith(".") or local.endswith("."):
        return "it has two dots in a row or a dot at an end"
    labels = domain.split(".")
    if any(not label or label.startswith("-") or label.endswith("-") for label in labels):
        return "its domain is malformed"
    if len(labels[-1]) < 2 or (not labels[-1].isalpha() and not labels[-1].startswith("xn--")):
        return f"'.{labels[-1]}' is not a top-level domain"
    return None


def normalise_email(cell: object) -> Normalised:
    values: list[str] = []
    problems: list[str] = []
    for piece in _pieces(cell):
        if is_sha256(piece):
            values.append(piece.lower())
            continue
        # Invisible characters ride along when addresses are copied from mail or web pages.
        email = _MAILTO.sub("", _INVISIBLE.sub("", piece)).strip().lower()
        if not _EMAIL.match(email):
            problems.append(f"email is not a valid address ({_email_flaw(email)})")
        elif flaw := _undeliverable(email):
            problems.append(f"email cannot receive mail ({flaw}); not sent")
        else:
            values.append(email)
    return Normalised(tuple(dict.fromkeys(values)), tuple(problems))


def normalise_phone(
    cell: object, default_country: str | None, row_country: str | None = None
) -> Normalised:
    values: list[str] = []
    problems: list[str] = []
    region = (row_country or default_country or "").upper() or None
    for piece in _pieces(cell):
        if is_sha256(piece):
            values.append(piece.lower())
            continue
        value, problem = _phone(piece, region)
        if problem:
            problems.append(problem)
        elif value:
            values.append(value)
    return Normalised(tuple(dict.fromkeys(values)), tuple(problems))


# A label after the number: "(mobile)", "mob.", "cell", "- work", "[home]".
_PHONE_LABEL = re.compile(
    r"[\s,;/\-]*[(\[]?\s*(mobile|mob|cell|cellular|work|home|office|whatsapp|landline|"
    r"private|tel|phone)\.?\s*[)\]]?\s*$",
    re.IGNORECASE,
)


def _phone(text: str, region: str | None) -> tuple[str | None, str | None]:
    cleaned = re.sub(r"^(tel|phone|ph|mobile|cell)\s*[:.]?\s*", "", text, flags=re.IGNORECASE)
    cleaned = _PHONE_LABEL.sub("", cleaned).strip()
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    # An extension is not part of the number Meta matches; keep it out of the digit count.
    digits = re.sub(r"\D", "", re.sub(r"(?i)\s*(ext\.?|extension|x|#)\s*\d+\s*$", "", cleaned))
    if not digits:
        return None, "phone has no digits"
    number = _best_parse(cleaned, digits, region)
    if (
        region is None
        and not cleaned.startswith("+")
        and not (number and phonenumbers.is_valid_number(number))
    ):
        return (
            None,
            "phone has no country code; write it as +<country code>… or set default_country for the job",
        )
    if number is None:
        return None, f"phone is not a phone number ({len(digits)} digits)"
    if not phonenumbers.is_possible_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        words = {
            phonenumbers.ValidationResult.TOO_SHORT: "has too few digits",
            phonenumbers.ValidationResult.TOO_LONG: "has too many digits",
            phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "has an unknown country code",
        }.get(reason, "is not a possible phone number")
        return None, f"phone {words} ({len(digits)} digits)"
    if not phonenumbers.is_valid_number(number):
        # Possible but not valid: right length, but no such number range (often a typo).
        where = phonenumbers.region_code_for_number(number) or "its country"
        return None, f"phone is not a valid number for {where} ({len(digits)} digits)"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+"), None


def _best_parse(cleaned: str, digits: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The first valid reading of a number, else the first reading at all.

    A national reading comes first; then the digits read as international, for numbers that
    already carry their country code (as sheetsync's own output does, so normalising is idempotent).
    """
    candidates: list[tuple[str, str | None]] = []
    if cleaned.startswith("+"):
        candidates.append((cleaned, None))
    else:
        if region:
            candidates.append((cleaned, region))
        candidates.append(("+" + digits, None))
    if digits.startswith("521") and len(digits) == 13:
        # Mexico dropped the "1" of mobile numbers in 2019; old contact lists still carry it.
        candidates.append(("+52" + digits[3:], None))
    readings = []
    for text, default in candidates:
        try:
            readings.append(phonenumbers.parse(text, default))
        except phonenumbers.NumberParseException:
            continue
    for reading in readings:
        if phonenumbers.is_valid_number(reading):
            return reading
    return readings[0] if readings else None


# --- names and places ---------------------------------------------------------------
def _without_punctuation(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "S")))


def normalise_name(cell: object) -> Normalised:
    text = _text(cell)
    if is_sha256(text):
        return _one(text.lower())
    return _one(" ".join(_without_punctuation(text.lower()).split()))


def normalise_city(cell: object) -> Normalised:
    text = _text(cell)
    if is_sha256(text):
        return _one(text.lower())
    return _one("".join(_without_punctuation(text.lower()).split()))


_COUNTRY_ALIASES = {
    "uk": "gb", "u.k.": "gb", "england": "gb", "scotland": "gb", "wales": "gb", "britain": "gb",
    "great britain": "gb", "u.s.": "us", "u.s.a.": "us", "usa": "us", "america": "us",
    "united states of america": "us",
    # Names in the country's own language, as people type them into forms.
    "deutschland": "de", "españa": "es", "espana": "es", "méxico": "mx", "brasil": "br", "italia": "it",
    "nederland": "nl", "holland": "nl", "österreich": "at", "schweiz": "ch", "suisse": "ch", "svizzera": "ch",
    "россия": "ru", "日本": "jp", "中国": "cn", "polska": "pl", "türkiye": "tr", "turkey": "tr", "sverige": "se",
    "norge": "no", "danmark": "dk", "suomi": "fi", "éire": "ie", "belgië": "be", "belgique": "be",
    "česko": "cz", "magyarország": "hu", "ελλάδα": "gr", "대한민국": "kr", "한국": "kr", "भारत": "in",
}  # fmt: skip


def country_code(text: str) -> str | None:
    """A country name, 2- or 3-letter code → ISO 3166-1 alpha-2, lower case."""
    key = " ".join(text.strip().lower().split())
    if not key:
        return None
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    try:
        return str(pycountry.countries.lookup(key).alpha_2).lower()
    except LookupError:
        pass
    try:
        matches = pycountry.countries.search_fuzzy(key)
    except LookupError:
        return None
    return str(matches[0].alpha_2).lower() if len(matches) == 1 else None


def normalise_country(cell: object) -> Normalised:
    text = _text(cell)
    if not text:
        return Normalised()
    if is_sha256(text):
        return _one(text.lower())
    code = country_code(text)
    return _one(code, None if code else f"country {_shown(text)} is not a country name or code")


_STATE_ALIASES = {
    "washington dc": "dc", "washington d c": "dc", "d c": "dc", "district of columbia": "dc",
    "quebec": "qc", "province of quebec": "qc", "nfld": "nl", "newfoundland": "nl",
    "pei": "pe", "p e i": "pe", "yukon territory": "yt",
}  # fmt: skip


def normalise_state(cell: object, country: str | None) -> Normalised:
    """US states and Canadian provinces → 2-letter code; elsewhere lower case without punctuation."""
    text = _text(cell)
    if not text:
        return Normalised()
    if is_sha256(text):
        return _one(text.lower())
    plain = " ".join(_without_punctuation(text.lower()).split())
    wanted = _without_accents(plain)
    if wanted in _STATE_ALIASES and (country or "US").upper() in ("US", "CA"):
        return _one(_STATE_ALIASES[wanted])
    # North America shares one list: a job whose default is US still reads "Ontario" as ON.
    regions = [country.upper()] if country else []
    if not country or country.upper() in ("US", "CA"):
        regions += [region for region in ("US", "CA") if region not in regions]
    for region in regions:
        for subdivision in pycountry.subdivisions.get(country_code=region) or []:
            short = subdivision.code.split("-")[1].lower()
            name = " ".join(_without_punctuation(subdivision.name.lower()).split())
            if wanted in (short, _without_accents(name)):
                return _one(short)
    return _one(plain.replace(" ", ""))


def _without_accents(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )


def normalise_zip(cell: object, country: str | None) -> Normalised:
    text = _text(cell)
    if not text:
        return Normalised()
    if is_sha256(text):
        return _one(text.lower())
    plain = re.sub(r"[\s-]", "", text.lower())
    if (country or "us").lower() == "us" and re.match(r"^\d{5}", plain):
        return _one(plain[:5])
    if (country or "").lower() == "us" and plain.isdigit() and len(plain) == 4:
        return _one("0" + plain)  # a zip typed as a number loses its leading zero
    return _one(plain)


# --- dates, gender, ids -------------------------------------------------------------
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_ISO_MOMENT = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:z|[+-]\d{2}:?\d{2})?$"
)
_NUMERIC = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})$")
_WORDS = re.compile(r"[a-z]+\.?|\d+")


def parse_date(cell: object, date_order: str = "mdy") -> date | None:
    """A date as a sheet holds it: a serial day number, or text in a common format.

    ISO dates (with or without a time and zone), dates with a month name in any position, and
    numeric dates with any of / . - between the parts. A numeric date that can only be read one
    way (`16/02/1997`: there is no 16th month) is read that way; one that is truly ambiguous
    (`03/04/1997`) follows the job's `date_order`."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        if 1 <= cell < 2958466:  # Sheets' serial range (1899-12-31 … 9999-12-31)
            return _SHEETS_EPOCH + timedelta(days=int(cell))
        return None
    text = _text(cell).strip().lower()
    if iso := _ISO_MOMENT.match(text):
        return _date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    if re.fullmatch(r"\d{8}", text):
        return _date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if numeric := _NUMERIC.match(text):
        first, second, third = (int(part) for part in numeric.groups())
        return _numeric_date(first, second, third, date_order)
    return _worded_date(text)


def _numeric_date(first: int, second: int, third: int, date_order: str) -> date | None:
    if first > 31:  # 1997/02/16: year first
        return _date(first, second, third)
    year = third + (2000 if third < 30 else 1900) if third < 100 else third
    month_first = _date(year, first, second)
    day_first = _date(year, second, first)
    if month_first and day_first:
        return month_first if date_order == "mdy" else day_first
    return month_first or day_first  # only one reading is a date


def _worded_date(text: str) -> date | None:
    """`31-Jan-1990`, `Sept 5, 1988`, `5 September 1988`: a month name in any position."""
    words = _WORDS.findall(text)
    months = [_MONTHS[w.rstrip(".")] for w in words if w.rstrip(".") in _MONTHS]
    numbers = [int(w) for w in words if w.isdigit()]
    others = [w for w in words if not w.isdigit() and w.rstrip(".") not in _MONTHS]
    if (
        len(months) != 1
        or len(numbers) != 2
        or any(w not in ("st", "nd", "rd", "th", "of") for w in others)
    ):
        return None
    day, year = sorted(numbers, key=lambda n: n > 31)
    return _date(year, months[0], day) if year > 31 else None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_moment(
    cell: object, date_order: str = "mdy", utc_offset: timedelta = timedelta()
) -> int | None:
    """A date or date-time cell → Unix seconds (UTC). Serial numbers keep their time of day."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float) and 1 <= cell < 2958466:
        moment = datetime(1899, 12, 30, tzinfo=UTC) + timedelta(days=float(cell)) - utc_offset
        return int(moment.timestamp())
    text = _text(cell)
    if not text:
        return None
    for fmt in (
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%SZ",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
    ):
        if (fmt.startswith("%d/") and date_order != "dmy") or (
            fmt.startswith("%m/") and date_order == "dmy"
        ):
            continue
        try:
            moment = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        # A time ending in Z is already UTC (what the Lead Ads intake writes); any other is the
        # sheet's own local time.
        return int((moment if fmt.endswith("Z") else moment - utc_offset).timestamp())
    day = parse_date(text, date_order)
    if day is None:
        return None
    return int((datetime(day.year, day.month, day.day, tzinfo=UTC) - utc_offset).timestamp())


def normalise_date_of_birth(
    cell: object, date_order: str = "mdy", today: date | None = None
) -> Normalised:
    """`today` (when known) drops a birthday in the future: a typo, not a person."""
    text = _text(cell)
    if not text:
        return Normalised()
    if is_sha256(text):
        return _one(text.lower())
    day = parse_date(cell, date_order)
    if day is None or not 1900 <= day.year <= 2100:
        return _one(None, f"date of birth {_shown(text)} is not a date (write e.g. 1997-02-16)")
    if today is not None and day > today:
        return _one(None, f"date of birth {_shown(text)} is in the future; not sent")
    return _one(day.strftime("%Y%m%d"))


# Meta takes f or m. Words that say one of them plainly are read; "w" is not (woman in some
# languages, "weiblich"/"wife"/"widow" guesses in others): dropped rather than guessed.
_GENDERS = {
    **dict.fromkeys(
        ["f", "female", "woman", "femme", "féminin", "feminin", "mujer", "femenino", "frau",
         "weiblich", "donna", "femmina", "feminino", "mulher", "vrouw", "kvinna", "kobieta"],
        "f",
    ),
    **dict.fromkeys(
        ["m", "male", "man", "homme", "masculin", "hombre", "masculino", "mann", "männlich",
         "maennlich", "uomo", "maschio", "homem", "mężczyzna"],
        "m",
    ),
}  # fmt: skip


def normalise_gender(cell: object) -> Normalised:
    text = _text(cell).lower()
    if not text:
        return Normalised()
    if is_sha256(text):
        return _one(text)
    code = _GENDERS.get(text.rstrip("."))
    return _one(code) if code else Normalised()  # other answers are not sent, and not an error


def normalise_external_id(cell: object) -> Normalised:
    text = _text(cell)
    return _one(text.lower() if is_sha256(text) else text)


# --- Meta lead id and click id --------------------------------------------------------
def lead_id_from_cell(cell: object) -> tuple[int | None, str | None]:
    """Meta's lead id, only when it is certainly intact (never a Sheets-rounded number)."""
    advice = "format the Lead ID column as plain text and paste the id again"
    if isinstance(cell, bool) or cell == "":
        return None, None
    if isinstance(cell, int | float):
        digits = str(int(cell)) if float(cell).is_integer() else ""
        if len(digits) <= 15 and digits:
            return (
                (int(digits), None)
                if len(digits) == 15
                else (None, f"lead id {digits} is too short (Meta's lead ids have 15–17 digits)")
            )
        return (
            None,
            f"lead id {_format_float(cell)} lost digits because Sheets stored it as a number; {advice}",
        )
    text = re.sub(r"\s", "", _text(cell))
    if not text:
        return None, None  # blank, or a placeholder such as N/A
    text = re.sub(r"^l:", "", text, flags=re.IGNORECASE)
    if re.fullmatch(r"\d+(\.\d+)?[eE]\+?\d+", text):
        return None, f"lead id {text} was rounded by Sheets (scientific notation); {advice}"
    if not text.isdigit():
        return None, f"lead id {_shown(text)} is not a number"
    if not 15 <= len(text) <= 17:
        return None, f"lead id {text} has {len(text)} digits; Meta's lead ids have 15–17"
    return int(text), None


def _format_float(value: float) -> str:
    return f"{value:.6g}".upper().replace("E+", "E+")


# fb.<subdomain index>.<creation time>.<fbclid>: the time in milliseconds (13 digits), or in
# seconds (10), which Meta's own tooling wrote for years; either is kept byte for byte.
_FB_VALUE = re.compile(r"^fb\.\d+\.(\d{13}|\d{10})\.[^.\s]+(\.[A-Za-z0-9_-]+)?$")
_FBCLID_IN_URL = re.compile(r"(?:^|[?&#])fbclid=([^&#\s]+)")


def click_id_from_cell(cell: object) -> ClickId:
    """A bare fbclid, a landing-page URL with fbclid=, or a ready fb.1.… value (kept byte for byte)."""
    text = str(cell).strip() if not isinstance(cell, bool) else ""
    if not text or is_placeholder(text):
        return ClickId()  # kept byte for byte otherwise: not NFC-normalised like other fields
    if text.startswith("fb."):
        if _FB_VALUE.match(text):
            return ClickId(fbc=text)
        return ClickId(
            problems=(
                f"click id {_shown(text)} looks like an fbc value but is badly formed "
                "(expected fb.1.<13-digit milliseconds>.<fbclid>)",
            )
        )
    found = _FBCLID_IN_URL.search(_decoded(text))
    if found:
        text = _decoded(found.group(1))
    elif "://" in text or "?" in text or "%3a%2f%2f" in text.lower():
        return ClickId(problems=(f"click id: the link {_shown(text)} has no fbclid= in it",))
    if re.search(r"[\s.]", text) or len(text) < 8:
        return ClickId(problems=(f"click id {_shown(text)} is not an fbclid",))
    return ClickId(fbclid=text)


def _decoded(text: str) -> str:
    """Undo percent-encoding, once or twice (a landing URL pasted from an ad report is often
    encoded as a whole, and its fbclid again inside it), until nothing changes."""
    for _ in range(3):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def build_fbc(fbclid: str, click_time_ms: int) -> str:
    """fb.<subdomain index>.<click time ms>.<fbclid>; server side the subdomain index is 1."""
    return f"fb.1.{click_time_ms}.{fbclid}"


def _shown(text: str) -> str:
    """Quote a value in a message, shortened; callers never pass raw emails or phones to logs."""
    return quoted(text)


@dataclass(frozen=True)
class WebKeys:
    """A website lead's browser keys: sent as they are (Meta hashes none of them)."""

    event_id: str | None = None
    fbp: str | None = None
    client_ip_address: str | None = None
    client_user_agent: str | None = None
    event_source_url: str | None = None
    problems: tuple[str, ...] = ()

    def user_data(self) -> dict[str, str]:
        keys = {
            "fbp": self.fbp,
            "client_ip_address": self.client_ip_address,
            "client_user_agent": self.client_user_agent,
        }
        return {name: value for name, value in keys.items() if value}


NO_WEB_KEYS = WebKeys()
_FBP = re.compile(r"^fb\.\d+\.\d{10,13}\.\d+$")
_EVENT_ID = re.compile(r"^[\x21-\x7e]{1,100}$")  # printable, no spaces: as pixels produce them


def web_keys_from_cells(cells: dict[str, object]) -> WebKeys:
    """The browser keys of a row; a malformed one is left out and named."""
    cells = {
        name: "" if is_placeholder(cell_text(value)) else value for name, value in cells.items()
    }
    problems: list[str] = []
    event_id = cell_text(cells.get("event_id", "")) or None
    if event_id and not _EVENT_ID.match(event_id):
        problems.append(f"event id {_shown(event_id)} has spaces or is too long; not used")
        event_id = None
    fbp = cell_text(cells.get("fbp", "")) or None
    if fbp and not _FBP.match(fbp):
        problems.append(f"fbp {_shown(fbp)} is not an _fbp cookie value (fb.1.<time>.<number>)")
        fbp = None
    ip = cell_text(cells.get("client_ip_address", "")) or None
    if ip:
        try:
            ip = str(ipaddress.ip_address(ip.strip("[]")))
        except ValueError:
            problems.append(f"client IP {_shown(ip)} is not an IPv4 or IPv6 address")
            ip = None
    agent = " ".join(cell_text(cells.get("client_user_agent", "")).split()) or None
    url = cell_text(cells.get("event_source_url", "")) or None
    if url and not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
        problems.append(f"event source URL {_shown(url)} is not a web address (https://…)")
        url = None
    return WebKeys(event_id, fbp, ip, agent, url, tuple(problems))
