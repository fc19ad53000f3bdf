"""Reading submitted form fields: typed getters that refuse bad input with the field's name."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

from rxledger.domain import errors

MAX_QUANTITY = 10**12


class Fields:
    """The text fields of a submitted form (or a query string), trimmed."""

    def __init__(self, data: Mapping[str, object]) -> None:
        self._data = {k: str(v).strip() for k, v in data.items() if isinstance(v, str)}

    def text(self, name: str, *, max_length: int = 200) -> str | None:
        value = self._data.get(name, "")
        if len(value) > max_length:
            raise errors.ValidationFailed(
                f"{name.replace('_', ' ')} is at most {max_length} characters", field=name
            )
        return value or None

    def required_text(self, name: str, label: str, *, max_length: int = 200) -> str:
        value = self.text(name, max_length=max_length)
        if value is None:
            raise errors.ValidationFailed(f"{label} is required", field=name)
        return value

    def integer(self, name: str, label: str) -> int:
        value = self.optional_integer(name, label)
        if value is None:
            raise errors.ValidationFailed(f"{label} is required", field=name)
        return value

    def optional_integer(self, name: str, label: str) -> int | None:
        raw = self._data.get(name, "").replace(",", "").replace("\u2212", "-").replace(" ", "")
        if not raw:
            return None
        digits = raw[1:] if raw[0] in "+-" else raw
        if not digits.isdigit() or len(digits) > 13 or abs(int(raw)) > MAX_QUANTITY:
            raise errors.ValidationFailed(f"{label} must be a whole number", field=name)
        return int(raw)

    def quantity(self, name: str = "quantity", label: str = "quantity") -> int:
        value = self.integer(name, label)
        if value <= 0:
            raise errors.InvalidQuantity(f"{label} must be a positive whole number", field=name)
        return value

    def optional_date(self, name: str, label: str) -> date | None:
        raw = self._data.get(name, "")
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise errors.ValidationFailed(
                f"{label} must be a date (YYYY-MM-DD)", field=name
            ) from exc

    def optional_money(self, name: str, label: str) -> Decimal | None:
        """An amount such as 1,250.00 (never a float); empty is none."""
        raw = self._data.get(name, "").replace(",", "").replace(" ", "")
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or value < 0:
            raise errors.ValidationFailed(f"{label} must be an amount such as 12.50", field=name)
        return value

    def flag(self, name: str) -> bool:
        return self._data.get(name, "") in ("1", "on", "true", "yes")

    def values(self) -> dict[str, str]:
        """What was sent, to fill the form again (never the CSRF token)."""
        return {k: v for k, v in self._data.items() if k != "csrf_token"}
