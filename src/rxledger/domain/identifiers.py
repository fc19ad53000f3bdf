"""Product identifiers of the US drug supply: the NDC in its labelled and billing forms, and GTINs.

The NDC is labelled as 10 digits in one of three hyphen layouts (4-4-2, 5-3-2, 5-4-1); billing
systems use an 11-digit 5-4-2 form made by zero-padding the short segment. A GTIN that carries an
NDC is ``03`` + the 10 NDC digits + a check digit (GS1 US). From 2033 the FDA's 12-digit NDC no
longer fits a GTIN, so the item master stores GTINs and NDCs as separate keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from biip.checksums import gs1_standard_check_digit

from rxledger.domain.errors import InvalidIdentifier

NdcLayout = Literal["4-4-2", "5-3-2", "5-4-1"]
LAYOUTS: tuple[NdcLayout, ...] = ("4-4-2", "5-3-2", "5-4-1")
_SEGMENTS: dict[NdcLayout, tuple[int, int, int]] = {
    "4-4-2": (4, 4, 2),
    "5-3-2": (5, 3, 2),
    "5-4-1": (5, 4, 1),
}
_HYPHENATED = re.compile(r"^([0-9]{4,5})-([0-9]{3,4})-([0-9]{1,2})$")


def is_ascii_digits(text: str) -> bool:
    """Only 0-9: ``str.isdigit`` also accepts superscripts and other scripts' digits."""
    return bool(text) and text.isascii() and text.isdigit()


@dataclass(frozen=True, slots=True)
class Ndc:
    """A 10-digit National Drug Code with its known hyphen layout."""

    labeler: str
    product: str
    package: str

    @property
    def layout(self) -> NdcLayout:
        shape = (len(self.labeler), len(self.product), len(self.package))
        for layout, segments in _SEGMENTS.items():
            if segments == shape:
                return layout
        raise InvalidIdentifier(f"{self.ndc10} has no NDC layout", identifier=self.ndc10)

    @property
    def digits(self) -> str:
        """The 10 digits without hyphens."""
        return f"{self.labeler}{self.product}{self.package}"

    @property
    def ndc10(self) -> str:
        """The labelled form with hyphens, e.g. ``0777-3105-02``."""
        return f"{self.labeler}-{self.product}-{self.package}"

    @property
    def ndc11(self) -> str:
        """The 11-digit 5-4-2 billing form, digits only."""
        return f"{self.labeler:0>5}{self.product:0>4}{self.package:0>2}"

    @property
    def ndc11_hyphenated(self) -> str:
        n = self.ndc11
        return f"{n[:5]}-{n[5:9]}-{n[9:]}"

    def to_gtin(self) -> str:
        """The GTIN-14 that GS1 US assigns to this NDC (indicator 0, prefix 03)."""
        body = "003" + self.digits
        return body + str(gs1_standard_check_digit(body))

    @classmethod
    def parse(cls, text: str) -> Ndc:
        """Parse a hyphenated 10-digit NDC (``0777-3105-02``) or a hyphenated 11-digit billing NDC.

        Unhyphenated 10-digit NDCs are ambiguous and need :func:`ndc_candidates` and an item master.
        """
        value = text.strip()
        match = _HYPHENATED.match(value)
        if match:
            labeler, product, package = match.groups()
            key = f"{len(labeler)}-{len(product)}-{len(package)}"
            if key in _SEGMENTS:
                return cls(labeler, product, package)
            if (len(labeler), len(product), len(package)) == (5, 4, 2):
                return cls.from_ndc11(labeler + product + package)
        raise InvalidIdentifier(
            f"{text!r} is not an NDC in a 4-4-2, 5-3-2 or 5-4-1 layout", identifier=text
        )

    @classmethod
    def from_digits(cls, digits: str, layout: NdcLayout) -> Ndc:
        """Build an NDC from its 10 digits and a known layout."""
        if not (len(digits) == 10 and is_ascii_digits(digits)):
            raise InvalidIdentifier(f"{digits!r} is not 10 digits", identifier=digits)
        a, b, _ = _SEGMENTS[layout]
        return cls(digits[:a], digits[a : a + b], digits[a + b :])

    @classmethod
    def from_ndc11(cls, digits: str) -> Ndc:
        """Recover the labelled NDC from an 11-digit billing form when only one layout fits.

        Raises ``InvalidIdentifier`` with ``ambiguous=True`` when the padding zero could belong to
        more than one segment (e.g. ``00777031002``): the item master must decide then.
        """
        candidates = ndc11_candidates(digits)
        if len(candidates) != 1:
            raise InvalidIdentifier(
                f"the 11-digit NDC {digits} fits {len(candidates)} layouts; "
                "resolve it against the item master",
                identifier=digits,
                ambiguous=len(candidates) > 1,
                candidates=[c.ndc10 for c in candidates],
            )
        return candidates[0]


def ndc11_candidates(digits: str) -> list[Ndc]:
    """Every labelled NDC whose billing form is these 11 digits."""
    value = digits.replace("-", "").strip()
    if not (len(value) == 11 and is_ascii_digits(value)):
        raise InvalidIdentifier(f"{digits!r} is not an 11-digit NDC", identifier=digits)
    found: list[Ndc] = []
    if value[0] == "0":
        found.append(Ndc(value[1:5], value[5:9], value[9:]))
    if value[5] == "0":
        found.append(Ndc(value[:5], value[6:9], value[9:]))
    if value[9] == "0":
        found.append(Ndc(value[:5], value[5:9], value[10:]))
    return found


def ndc10_candidates(digits: str) -> list[Ndc]:
    """The three readings of 10 unhyphenated NDC digits; only the item master can pick one."""
    value = digits.strip()
    if not (len(value) == 10 and is_ascii_digits(value)):
        raise InvalidIdentifier(f"{digits!r} is not a 10-digit NDC", identifier=digits)
    return [Ndc.from_digits(value, layout) for layout in LAYOUTS]


def normalize_gtin(text: str) -> str:
    """Validate a GTIN-8/12/13/14 and return it as 14 digits; the check digit must be right."""
    value = text.strip()
    if not (is_ascii_digits(value) and len(value) in (8, 12, 13, 14)):
        raise InvalidIdentifier(
            f"{text!r} is not a GTIN of 8, 12, 13 or 14 digits", identifier=text
        )
    padded = value.zfill(14)
    expected = gs1_standard_check_digit(padded[:-1])
    if int(padded[-1]) != expected:
        raise InvalidIdentifier(
            f"GTIN {value} has check digit {padded[-1]}, expected {expected}", identifier=text
        )
    return padded


def ndc_from_gtin(gtin: str) -> str | None:
    """The 10 NDC digits inside a GTIN whose company prefix is 03 (GS1 US), else ``None``."""
    value = normalize_gtin(gtin)
    if value[1:3] != "03":
        return None
    return value[3:13]
