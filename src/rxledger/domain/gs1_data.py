"""GS1 element strings read with biip, plus the checks a receiving dock needs and biip leaves out.

biip reads the AIs; this module adds what GS1's own syntax engine also refuses: a variable-length
value not ended by a separator (so ``(10)`` cannot silently swallow what follows), a check digit
that biip reports but does not raise, one AI with two values, and, in GS1 Digital Link URIs, an
unknown or empty AI, a repeated AI, or a key qualifier sent as a query parameter. It also renders
the canonical Digital Link of element strings, which is how EPCIS 2.0 names products.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from biip import EncodeError, ParseConfig, ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString, GS1ElementStrings
from biip.gs1_messages import GS1Message

from rxledger.domain.errors import InvalidScan

# None of these is in GS1's character set 82, so none can be part of a value: the GS a scanner
# sends for FNC1, the caret GS1's syntax engine writes for it, and the bar of composite symbols.
SEPARATORS = ("\x1d", "^", "|")
CONFIG = ParseConfig(separator_chars=SEPARATORS)

# GS1 Digital Link primary keys and their key-qualifier alternatives (the syntax dictionary's
# ``dlpkey`` attributes): ``/01/{gtin}/22/../10/../21/..`` or ``/01/{gtin}/235/..``.
DL_KEY_QUALIFIERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "00": (),
    "01": (("22", "10", "21"), ("235",)),
    "253": (),
    "255": (),
    "401": (),
    "402": (),
    "414": (("254",), ("7040",)),
    "417": (("7040",),),
    "8003": (),
    "8004": (("7040",),),
    "8006": (("22", "10", "21"),),
    "8010": (("8011",),),
    "8013": (),
    "8017": (("8019",),),
    "8018": (("8019",),),
}
_HRI_AI = re.compile(r"\(([0-9]{2,4})\)")
_HRI_VALUE = re.compile(r"(?:\\\(|[^(])*")
_ZERO_SUPPRESSED_GTIN = (8, 12, 13)
_PATTERN_MISMATCH = re.compile(
    r"^Failed to match '(.*)' with GS1 AI \(([0-9]+)\) pattern", re.DOTALL
)
DATE_AIS = frozenset(
    {"11", "12", "13", "15", "16", "17", "4324", "4325", "4326", "7003", "7006", "7007", "7011"}
    | {"8008"}
)


def invalid(message: str, **details: object) -> InvalidScan:
    """The one error of scanning: the message names what is wrong in biip's or GS1's words;
    ``details["reason"]`` is that text alone (unless the caller gives a shorter one)."""
    details.setdefault("reason", message)
    return InvalidScan(f"invalid scan: {message}", **details)


def refused_by_biip(exc: ParseError, **details: object) -> InvalidScan:
    """biip's reason, said plainly where it only names a pattern (an impossible date)."""
    reason = str(exc)
    mismatch = _PATTERN_MISMATCH.match(reason)
    if mismatch and mismatch.group(2) in DATE_AIS:
        code = mismatch.group(2)
        value = mismatch.group(1)[len(code) :]
        return invalid(f"({code}) {value} is not a date (YYMMDD)", reason=reason, **details)
    return invalid(reason, **details)


def known_ai(code: str) -> GS1ApplicationIdentifier | None:
    """The Application Identifier with exactly this code, if GS1 defines one."""
    try:
        found = GS1ApplicationIdentifier.extract(code)
    except ParseError:
        return None
    return found if found.ai == code else None


def read_element_data(data: str) -> GS1ElementStrings:
    """Element strings as a GS1 symbol carries them after FNC1, separated by GS (or ``^``)."""
    body = data.lstrip("".join(SEPARATORS)).strip()  # as biip strips it, so positions agree
    if not body:
        raise invalid("the scan holds no GS1 data")
    try:
        message = GS1Message.parse(body, config=CONFIG)
    except ParseError as exc:
        raise refused_by_biip(exc) from None
    _check_terminated(body, message.element_strings)
    check_elements(message.element_strings)
    return message.element_strings


def _check_terminated(body: str, elements: GS1ElementStrings) -> None:
    """A variable-length value ends at a separator or at the end: what follows is not its tail."""
    position = 0
    for element in elements:
        while body[position] in SEPARATORS:
            position += 1
        position += len(element.ai.ai) + len(element.value)
        runs_on = position < len(body) and body[position] not in SEPARATORS
        if element.ai.separator_required and runs_on:
            raise invalid(
                f"the {element.ai.data_title} {element.ai} value {element.value!r} runs into "
                f"{body[position:]!r}: a variable-length field ends at a GS separator",
                ai=element.ai.ai,
            )


def check_elements(elements: GS1ElementStrings) -> None:
    """Check digits of GTINs, SSCCs and GLNs must be right; an AI may repeat only unchanged."""
    seen: dict[str, str] = {}
    for element in elements:
        for problem in (element.gtin_error, element.sscc_error, element.gln_error):
            if problem:
                raise invalid(problem, ai=element.ai.ai)
        earlier = seen.setdefault(element.ai.ai, element.value)
        if earlier != element.value:
            raise invalid(
                f"{element.ai} appears twice with different values: {earlier!r} and "
                f"{element.value!r}",
                ai=element.ai.ai,
            )


def read_hri(text: str) -> GS1ElementStrings:
    """Bracketed human-readable data, ``(01)00300010123455(10)A1``; ``\\(`` is a literal ``(``."""
    compact = "".join(text.split())
    if not compact.startswith("("):
        raise invalid(f"human-readable GS1 data starts with '(AI)', got {text!r}")
    elements = GS1ElementStrings()
    position = 0
    while position < len(compact):
        opening = _HRI_AI.match(compact, position)
        if opening is None:
            raise invalid(f"expected '(AI)' at character {position + 1} of {text!r}")
        code = opening.group(1)
        value_match = _HRI_VALUE.match(compact, opening.end())
        assert value_match is not None  # the pattern also matches the empty string
        value = value_match.group(0).replace("\\(", "(")
        position = value_match.end()
        if known_ai(code) is None:
            raise invalid(f"unknown GS1 Application Identifier ({code})", ai=code)
        if not value:
            raise invalid(f"({code}) has no value", ai=code)
        try:
            elements.append(GS1ElementString.parse(code + value, config=CONFIG))
        except ParseError as exc:
            raise refused_by_biip(exc, ai=code) from None
    check_elements(elements)
    return elements


def read_digital_link(uri: str) -> GS1ElementStrings:
    """A GS1 Digital Link URI: key and qualifiers in the path, other AIs as query parameters."""
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise invalid(f"{uri!r} is not a URI: {exc}") from None
    query = _query_elements(parts.query)
    normalized = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    try:
        link = GS1DigitalLinkURI.parse(normalized, config=CONFIG)
    except ParseError as exc:
        raise refused_by_biip(exc) from None
    scheme = uri.split(":", 1)[0]
    if scheme not in ("http", "https", "HTTP", "HTTPS"):
        raise invalid(f"the URI scheme must be http or https in one case, got {scheme!r}")
    elements = link.element_strings
    in_path = [e.ai.ai for e in elements[: len(elements) - len(query)]]
    _check_query(in_path, [code for code, _ in query])
    check_elements(elements)
    return elements


def _query_elements(query: str) -> list[tuple[str, str]]:
    """The AI query parameters; other parameters are ignored, as the standard says."""
    found: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if not (key.isascii() and key.isdigit()):
            continue
        if known_ai(key) is None:
            raise invalid(f"unknown GS1 Application Identifier ({key}) in the query", ai=key)
        if not value:
            raise invalid(f"({key}) in the query has no value", ai=key)
        if any(code == key for code, _ in found):
            raise invalid(f"({key}) appears twice in the query", ai=key)
        zero_suppressed = key == "01" and value.isdigit() and len(value) in _ZERO_SUPPRESSED_GTIN
        found.append((key, value.zfill(14) if zero_suppressed else value))
    return found


def _check_query(in_path: list[str], in_query: list[str]) -> None:
    for code in in_query:
        if code in in_path:
            raise invalid(f"({code}) appears both in the path and in the query", ai=code)
    alternatives = DL_KEY_QUALIFIERS.get(in_path[0], ()) if in_path else ()
    used = [a for a in alternatives if set(a) & set(in_path[1:])] or list(alternatives)
    qualifiers = {code for alternative in used for code in alternative}
    for code in in_query:
        if code in qualifiers:
            raise invalid(
                f"({code}) qualifies the key ({in_path[0]}): it belongs in the URI path, "
                "not in the query",
                ai=code,
            )


def canonical_digital_link(elements: GS1ElementStrings) -> str | None:
    """The canonical GS1 Digital Link URI (id.gs1.org) of these element strings, if they have one.

    The first primary key leads the path and later ones become query parameters; an AI (01) may
    be qualified by (22)/(10)/(21) or by (235), never by both.
    """
    unique = GS1ElementStrings()
    for element in elements:
        if element not in unique:
            unique.append(element)
    keys = [e for e in unique if e.ai.ai in DL_KEY_QUALIFIERS]
    if not keys:
        return None
    codes = {e.ai.ai for e in unique}
    if keys[0].ai.ai == "01" and "235" in codes and codes & {"22", "10", "21"}:
        return None
    later = [e for e in keys[1:] if e.ai.ai != keys[0].ai.ai]
    try:
        link = GS1DigitalLinkURI.from_element_strings(
            GS1ElementStrings(e for e in unique if e not in later)
        ).as_canonical_uri()
    except (EncodeError, ParseError):
        return None
    if not later:
        return link
    return link + ("&" if "?" in link else "?") + urlencode([(e.ai.ai, e.value) for e in later])


def element_string(elements: GS1ElementStrings) -> str:
    """The normalized data: each variable-length value ended by GS unless it is the last."""
    return GS1Message.from_element_strings(elements).value


def hri(elements: GS1ElementStrings) -> str:
    return "".join(e.as_hri() for e in elements)
