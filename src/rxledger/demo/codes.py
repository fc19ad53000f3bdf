"""Synthetic but well-formed identifiers for the demo network: DEA numbers, GLNs, NDCs and GTINs.

Nothing here is a real registration. Every identifier passes the check its kind is validated with:
the DEA check digit, the GS1 check digit of GLNs and GTINs, and the NDC's 10-digit layouts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from biip.checksums import gs1_standard_check_digit

from rxledger.domain.identifiers import LAYOUTS, Ndc, NdcLayout

# GS1 US's documentation prefix: obviously synthetic, and every GLN built on it is valid.
GS1_COMPANY_PREFIX = "0614141"

# Labeler codes are drawn from disjoint ranges per layout, so the 10 NDC digits (and therefore the
# GTINs made from them) never repeat across layouts, and no two items share an 11-digit NDC.
_LABELER_RANGES: dict[NdcLayout, tuple[int, int]] = {
    "4-4-2": (1000, 4999),
    "5-3-2": (50000, 69999),
    "5-4-1": (70000, 89999),
}


def dea_check_digit(six_digits: str) -> int:
    """The DEA rule: (d1 + d3 + d5) + 2 x (d2 + d4 + d6), last digit of the sum."""
    if len(six_digits) != 6 or not six_digits.isdigit():
        raise ValueError(f"{six_digits!r} is not six digits")
    d = [int(c) for c in six_digits]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10


def dea_number(registrant_type: str, name_initial: str, serial: int) -> str:
    """Two letters (registrant type, first letter of the registrant's name) + 6 digits + check."""
    if len(registrant_type) != 1 or len(name_initial) != 1 or not 0 <= serial < 1_000_000:
        raise ValueError("a DEA number has two letters and six serial digits")
    digits = f"{serial:06d}"
    return f"{registrant_type}{name_initial}{digits}{dea_check_digit(digits)}".upper()


def is_valid_dea_number(value: str) -> bool:
    """Two letters, seven digits, and the seventh digit is the DEA check digit of the first six."""
    return (
        len(value) == 9
        and value[:2].isalpha()
        and value[2:].isdigit()
        and dea_check_digit(value[2:8]) == int(value[8])
    )


def gln(location_reference: int) -> str:
    """A 13-digit Global Location Number: company prefix + 5-digit reference + GS1 check digit."""
    if not 0 <= location_reference < 100_000:
        raise ValueError("a GLN location reference has five digits here")
    body = f"{GS1_COMPANY_PREFIX}{location_reference:05d}"
    return body + str(gs1_standard_check_digit(body))


def case_gtin(ndc: Ndc, indicator: int = 1) -> str:
    """The GTIN-14 of a case of the NDC's package: indicator digit 1-8 instead of the leading 0."""
    if not 1 <= indicator <= 8:
        raise ValueError("a packaging indicator is 1 to 8")
    body = f"{indicator}03{ndc.digits}"
    return body + str(gs1_standard_check_digit(body))


@dataclass
class NdcAllocator:
    """Hands out unique synthetic NDCs: one labeler code per manufacturer, layouts mixed."""

    rng: np.random.Generator
    _labelers: dict[str, tuple[NdcLayout, str]] = field(default_factory=dict)
    _next_product: dict[str, int] = field(default_factory=dict)
    _used_labelers: set[str] = field(default_factory=set)
    _issued: set[str] = field(default_factory=set)

    def labeler_for(self, manufacturer: str) -> tuple[NdcLayout, str]:
        """A manufacturer keeps its labeler code; new ones take the next layout in turn."""
        known = self._labelers.get(manufacturer)
        if known is not None:
            return known
        layout = LAYOUTS[len(self._labelers) % len(LAYOUTS)]
        low, high = _LABELER_RANGES[layout]
        while True:
            code = str(int(self.rng.integers(low, high + 1)))
            if code not in self._used_labelers:
                break
        self._used_labelers.add(code)
        self._labelers[manufacturer] = (layout, code)
        self._next_product[code] = int(self.rng.integers(1, 200))
        return layout, code

    def allocate(self, manufacturer: str) -> Ndc:
        """The next product code of the manufacturer's labeler, with a random package code."""
        layout, labeler = self.labeler_for(manufacturer)
        _, product_len, package_len = (int(p) for p in layout.split("-"))
        while True:
            product = self._next_product[labeler]
            self._next_product[labeler] = product + int(self.rng.integers(1, 12))
            package = int(self.rng.integers(1, 10**package_len))
            ndc = Ndc(
                labeler,
                f"{product % 10**product_len:0{product_len}d}",
                f"{package:0{package_len}d}",
            )
            if ndc.digits not in self._issued:
                self._issued.add(ndc.digits)
                return ndc
