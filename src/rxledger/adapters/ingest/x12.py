"""A small X12 reader: the tokenizer and the envelope, for any transaction set.

An X12 interchange announces its own delimiters in the fixed-width, 106-character ISA segment: the
character after ``ISA`` separates elements, ISA16 separates components, ISA11 separates repetitions
(from version 00402 on; before that it is the code ``U``), and the character after ISA16 ends each
segment. Senders add CR/LF after terminators for readability; that whitespace is not data.

The envelope nests transaction sets (ST … SE) in functional groups (GS … GE) in one interchange
(ISA … IEA). Each trailer repeats its header's control number and counts what it closes: SE01 the
segments of its set including ST and SE, GE01 the sets in its group, IEA01 the groups. A file whose
trailers disagree with what is there was cut, garbled or assembled by hand, and is refused whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rxledger.domain.errors import ShipmentDataRejected

ISA_LENGTH = 106
# ISA01 … ISA16: each element has a fixed width, which is what makes the delimiters findable.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_TAG = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_DATE = re.compile(r"^[0-9]{8}$")
_TIME = re.compile(r"^([0-9]{2})([0-9]{2})(?:([0-9]{2})([0-9]{1,2})?)?$")
# X12 time codes (element 623) for fixed offsets, and for US zones that follow daylight saving.
_FIXED_ZONES = {"UT": 0, "GM": 0, "ES": -5, "ED": -4, "CS": -6, "CD": -5, "MS": -7, "MD": -6,
                "PS": -8, "PD": -7}  # fmt: skip
_REGIONAL_ZONES = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
}
_WHITESPACE = " \t\r\n"


def rejected(message: str, at: Segment | None = None, **details: Any) -> ShipmentDataRejected:
    """A ``ShipmentDataRejected`` whose message says where: ``X12 segment 14 (SE): …``."""
    if at is None:
        return ShipmentDataRejected(f"X12: {message}", **details)
    return ShipmentDataRejected(
        f"X12 segment {at.number} ({at.tag}): {message}",
        segment=at.number,
        segment_id=at.tag,
        **details,
    )


@dataclass(frozen=True, slots=True)
class Separators:
    """The delimiters an interchange declares in its ISA segment."""

    element: str
    component: str
    segment: str
    repetition: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its identifier, its elements (SN102 is ``value(2)``) and its place."""

    tag: str
    elements: tuple[str, ...]
    number: int  # 1-based position in the interchange, ISA being 1

    def value(self, index: int) -> str:
        """Element ``index`` (1-based, as in ``SN102``) without padding; empty when absent."""
        if index <= len(self.elements):
            return self.elements[index - 1].strip()
        return ""

    def name(self, index: int) -> str:
        """The element's reference designator, e.g. ``SE01``."""
        return f"{self.tag}{index:02d}"


@dataclass(frozen=True, slots=True)
class TransactionSet:
    """The segments between one ST and its SE, with the group it came in."""

    code: str  # ST01, e.g. 856
    control_number: str
    header: Segment  # the ST segment
    segments: tuple[Segment, ...]
    functional_id: str  # GS01, e.g. SH for ship notices
    version: str  # GS08, e.g. 004010


@dataclass(frozen=True, slots=True)
class Interchange:
    """A checked envelope: who sent it to whom, and its transaction sets in order."""

    separators: Separators
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    control_number: str
    version: str  # ISA12
    transaction_sets: tuple[TransactionSet, ...]
    warnings: tuple[str, ...] = ()


# --- tokenizer ------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, list[str]]:
    """X12 is ASCII or its extended set; UTF-8 is taken as such, anything else byte for byte."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return data.decode("latin-1"), ["the file is not UTF-8; read as ISO-8859-1"]


def read_separators(text: str) -> Separators:
    """Find the delimiters in the ISA segment, refusing an ISA that is not 106 characters."""
    if not text.startswith("ISA"):
        start = text[:20]
        raise rejected(
            f"the file does not start with an ISA interchange header (it starts {start!r}): "
            "this is not X12",
            starts_with=start,
        )
    element = text[3:4]
    if not element or element.isalnum() or element in _WHITESPACE:
        raise rejected(f"ISA declares {element!r} as element separator; it must be a symbol")
    length = _isa_length(text, element)
    if length != ISA_LENGTH:
        raise rejected(
            f"the ISA segment is {length} characters long; X12 fixes it at {ISA_LENGTH}",
            isa_length=length,
        )
    _check_isa_widths(text[: ISA_LENGTH - 1].split(element))
    return _separators(text, element)


def _isa_length(text: str, element: str) -> int:
    """Where the ISA ends: one element (ISA16) and the terminator after its 16th separator."""
    seen = 0
    for index, char in enumerate(text[: ISA_LENGTH * 2]):
        if char == element:
            seen += 1
            if seen == len(ISA_WIDTHS):
                return index + 3
    raise rejected(
        f"the ISA segment has {seen} element separators; it must have {len(ISA_WIDTHS)}",
        isa_elements=seen,
    )


def _check_isa_widths(fields: list[str]) -> None:
    for index, (value, width) in enumerate(zip(fields[1:], ISA_WIDTHS, strict=True), start=1):
        if len(value) != width:
            raise rejected(
                f"ISA{index:02d} is {len(value)} characters; X12 fixes it at {width}",
                element=f"ISA{index:02d}",
            )


def _separators(text: str, element: str) -> Separators:
    component, terminator = text[ISA_LENGTH - 2], text[ISA_LENGTH - 1]
    version = text[84:89]
    repetition_code = text[82]
    repetition = repetition_code if version >= "00402" and not repetition_code.isalnum() else None
    declared = [c for c in (element, component, terminator, repetition) if c is not None]
    if len(set(declared)) != len(declared):
        raise rejected(f"the ISA declares the same character twice among its delimiters {declared}")
    if terminator.isalnum() or terminator == " ":
        raise rejected(f"the ISA declares {terminator!r} as segment terminator")
    return Separators(element, component, terminator, repetition)


def split_segments(text: str, separators: Separators) -> list[Segment]:
    """Cut the text after the ISA into segments, dropping whitespace senders put between them."""
    segments = [_segment(text[: ISA_LENGTH - 1], separators.element, 1)]
    pieces = text[ISA_LENGTH:].split(separators.segment)
    tail = pieces[-1].strip(_WHITESPACE)
    if tail:
        raise rejected(
            f"the file ends inside a segment ({tail[:20]!r} has no terminator "
            f"{separators.segment!r}): it is truncated"
        )
    for raw in pieces[:-1]:
        piece = raw.strip(_WHITESPACE)
        if piece:
            segments.append(_segment(piece, separators.element, len(segments) + 1))
    return segments


def _segment(piece: str, element: str, number: int) -> Segment:
    tag, *elements = piece.split(element)
    if not _TAG.match(tag):
        raise rejected(
            f"segment {number} starts {tag[:10]!r}, which is not a segment identifier",
            segment=number,
        )
    return Segment(tag, tuple(elements), number)


# --- dates and times ------------------------------------------------------------------------------


def x12_date(segment: Segment, index: int) -> date:
    """Element ``index`` as a CCYYMMDD date; anything else is refused."""
    text = segment.value(index)
    try:
        if _DATE.match(text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        pass
    raise rejected(
        f"{segment.name(index)} {text!r} is not a date (CCYYMMDD)",
        segment,
        element=segment.name(index),
        value=text,
    )


def x12_time(segment: Segment, index: int) -> time:
    """Element ``index`` as HHMM, HHMMSS or HHMMSSD[D] (tenths or hundredths of a second)."""
    text = segment.value(index)
    match = _TIME.match(text)
    try:
        if match:
            hours, minutes, seconds, fraction = match.groups()
            micro = int((fraction or "0").ljust(6, "0"))
            return time(int(hours), int(minutes), int(seconds or 0), micro)
    except ValueError:
        pass
    raise rejected(
        f"{segment.name(index)} {text!r} is not a time (HHMM[SS[D]])",
        segment,
        element=segment.name(index),
        value=text,
    )


def time_zone(code: str) -> tzinfo | None:
    """The zone an X12 time code names, or None for local time, unknown codes or no tz database."""
    if code in _FIXED_ZONES:
        hours = _FIXED_ZONES[code]
        return UTC if hours == 0 else timezone(timedelta(hours=hours))
    if code in _REGIONAL_ZONES:
        try:
            return ZoneInfo(_REGIONAL_ZONES[code])
        except ZoneInfoNotFoundError:
            return None
    return None


def utc(day: date, at: time, zone: tzinfo) -> datetime:
    """A wall-clock time in ``zone`` as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


# --- envelope -------------------------------------------------------------------------------------


def read_interchange(data: bytes) -> Interchange:
    """Tokenize one interchange and check its envelope; its transaction sets are not interpreted."""
    text, warnings = decode(data)
    text = text.lstrip(_WHITESPACE)
    if not text:
        raise rejected("the file is empty")
    separators = read_separators(text)
    segments = split_segments(text, separators)
    isa, iea = segments[0], segments[-1]
    if iea.tag != "IEA":
        raise rejected(
            f"the interchange ends at segment {iea.number} ({iea.tag}) without an IEA trailer: "
            "the file is truncated",
            segment=iea.number,
        )
    sets, groups = _read_groups(segments[1:-1])
    _check_trailer(iea, control=isa.value(13), count=groups, counted="functional groups (GS)")
    return Interchange(
        separators=separators,
        sender_qualifier=isa.value(5),
        sender_id=isa.value(6),
        receiver_qualifier=isa.value(7),
        receiver_id=isa.value(8),
        control_number=isa.value(13),
        version=isa.value(12),
        transaction_sets=tuple(sets),
        warnings=tuple(warnings),
    )


def _check_trailer(trailer: Segment, *, control: str, count: int, counted: str) -> None:
    """A trailer's element 2 repeats its header's control number; element 1 counts its contents."""
    if trailer.value(2) != control:
        raise rejected(
            f"{trailer.name(2)} control number {trailer.value(2)!r} does not match the header's "
            f"{control!r}",
            trailer,
            element=trailer.name(2),
            expected=control,
            found=trailer.value(2),
        )
    declared = trailer.value(1)
    if not declared.isdigit() or int(declared) != count:
        raise rejected(
            f"{trailer.name(1)} says {declared!r} {counted}; there are {count}",
            trailer,
            element=trailer.name(1),
            expected=count,
            found=declared,
        )


@dataclass
class _OpenGroup:
    header: Segment
    sets: int = 0


@dataclass
class _OpenSet:
    header: Segment
    segments: list[Segment]


class _EnvelopeWalker:
    """Follows GS/ST/SE/GE through an interchange's body, closing each loop it opened."""

    def __init__(self) -> None:
        self.sets: list[TransactionSet] = []
        self.groups = 0
        self.group: _OpenGroup | None = None
        self.open_set: _OpenSet | None = None

    def feed(self, segment: Segment) -> None:
        handler = {
            "GS": self._gs,
            "GE": self._ge,
            "ST": self._st,
            "SE": self._se,
            "ISA": self._nested_interchange,
            "IEA": self._nested_interchange,
        }.get(segment.tag, self._body)
        handler(segment)

    def finish(self) -> None:
        if self.open_set is not None:
            header = self.open_set.header
            raise rejected(
                f"transaction set {header.value(2)!r} is not closed by an SE: "
                "the file is truncated",
                header,
            )
        if self.group is not None:
            raise rejected(
                f"functional group {self.group.header.value(6)!r} is not closed by a GE: "
                "the file is truncated",
                self.group.header,
            )

    def _gs(self, segment: Segment) -> None:
        if self.group is not None:
            raise rejected(
                f"a new functional group starts before group {self.group.header.value(6)!r} "
                "is closed by a GE",
                segment,
            )
        self.group = _OpenGroup(segment)

    def _ge(self, segment: Segment) -> None:
        if self.group is None:
            raise rejected("GE without a GS header", segment)
        if self.open_set is not None:
            raise rejected(
                f"GE before transaction set {self.open_set.header.value(2)!r} is closed by an SE",
                segment,
            )
        _check_trailer(
            segment,
            control=self.group.header.value(6),
            count=self.group.sets,
            counted="transaction sets (ST)",
        )
        self.groups += 1
        self.group = None

    def _st(self, segment: Segment) -> None:
        if self.group is None:
            raise rejected("ST outside a functional group (no GS before it)", segment)
        if self.open_set is not None:
            raise rejected(
                f"a new transaction set starts before {self.open_set.header.value(2)!r} is "
                "closed by an SE",
                segment,
            )
        self.open_set = _OpenSet(segment, [])

    def _se(self, segment: Segment) -> None:
        if self.open_set is None or self.group is None:
            raise rejected("SE without an ST header", segment)
        header, body = self.open_set.header, self.open_set.segments
        _check_trailer(
            segment,
            control=header.value(2),
            count=len(body) + 2,
            counted="segments (ST through SE)",
        )
        self.sets.append(
            TransactionSet(
                code=header.value(1),
                control_number=header.value(2),
                header=header,
                segments=tuple(body),
                functional_id=self.group.header.value(1),
                version=self.group.header.value(8),
            )
        )
        self.group.sets += 1
        self.open_set = None

    def _nested_interchange(self, segment: Segment) -> None:
        raise rejected(
            "the file holds more than one interchange, or data after its IEA; "
            "send one interchange per file",
            segment,
        )

    def _body(self, segment: Segment) -> None:
        if self.open_set is None:
            raise rejected("segment outside a transaction set (not between ST and SE)", segment)
        self.open_set.segments.append(segment)


def _read_groups(body: list[Segment]) -> tuple[list[TransactionSet], int]:
    walker = _EnvelopeWalker()
    for segment in body:
        walker.feed(segment)
    walker.finish()
    return walker.sets, walker.groups
