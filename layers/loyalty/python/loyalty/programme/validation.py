"""The checks every programme key goes through (type, bounds, unknown keys), reporting the dotted
path of the bad value."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from loyalty.money import AmountError, parse_amount
from loyalty.programme.model import SCORE_MAX, SCORE_MIN, ProbabilityRange, ProgrammeError, ScoreRange

MISSING = object()


class Obj:
    """A JSON object being validated; remembers which keys were read so extras are reported."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise ProgrammeError(path or "(root)", "must be an object", data)
        self.data: dict[str, Any] = data
        self.path = path
        self.read: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, default: object) -> object:
        self.read.add(key)
        if key in self.data:
            return self.data[key]
        if default is MISSING:
            raise ProgrammeError(self._key(key), "is required")
        return default

    def done(self) -> None:
        extra = sorted(set(self.data) - self.read)
        if extra:
            raise ProgrammeError(self._key(extra[0]), "is not a known setting", self.data[extra[0]])

    def str(self, key: str, default: object = MISSING) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        if value == default == "":
            return ""
        if not isinstance(value, str) or not value.strip():
            raise ProgrammeError(self._key(key), "must be a non-empty string", value)
        return value

    def bool(self, key: str, default: object = MISSING) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, bool):
            raise ProgrammeError(self._key(key), "must be true or false", value)
        return value

    def int(
        self, key: str, default: object = MISSING, minimum: int | None = None, maximum: int | None = None
    ) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProgrammeError(self._key(key), "must be a whole number", value)
        if minimum is not None and value < minimum:
            raise ProgrammeError(self._key(key), f"must be at least {minimum}", value)
        if maximum is not None and value > maximum:
            raise ProgrammeError(self._key(key), f"must be at most {maximum}", value)
        return value

    def decimal(self, key: str, default: object = MISSING, minimum: Decimal | None = None) -> Decimal:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ProgrammeError(self._key(key), "must be a number written as an integer or string", value)
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise ProgrammeError(self._key(key), "must be a decimal number", value) from exc
        if not number.is_finite() or (minimum is not None and number < minimum):
            raise ProgrammeError(self._key(key), f"must be a finite number >= {minimum}", value)
        return number

    def money(self, key: str, currency: str, default: object = MISSING) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        try:
            return parse_amount(value, currency)
        except AmountError as exc:
            raise ProgrammeError(self._key(key), str(exc), value) from exc

    def obj(self, key: str, default: object = MISSING) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        return Obj(value, self._key(key))

    def list(self, key: str, minimum: int = 0, default: object = MISSING) -> list[Obj]:
        value = self._get(key, default)
        if not isinstance(value, list) or len(value) < minimum:
            raise ProgrammeError(self._key(key), f"must be a list of at least {minimum} item(s)", value)
        return [Obj(item, f"{self._key(key)}[{index}]") for index, item in enumerate(value)]

    def list_raw(self, key: str) -> list[Any]:
        value = self._get(key, MISSING)
        if not isinstance(value, list):
            raise ProgrammeError(self._key(key), "must be a list", value)
        return value

    def ascending_ints(self, key: str) -> tuple[int, ...]:
        value = self.list_raw(key)
        if (
            len(value) != 4
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value)
            or list(value) != sorted(set(value))
        ):
            raise ProgrammeError(self._key(key), "needs 4 strictly ascending whole numbers", value)
        return tuple(value)

    def probability_range(self, key: str) -> ProbabilityRange | None:
        value = self._get(key, None)
        if value is None:
            return None
        problem = "must be a range [low, high] of probabilities, 0 <= low <= high <= 1"
        if not isinstance(value, list) or len(value) != 2:
            raise ProgrammeError(self._key(key), problem, value)
        bounds = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise ProgrammeError(self._key(key), problem, value)
            try:
                bounds.append(Decimal(str(v)))
            except InvalidOperation as exc:
                raise ProgrammeError(self._key(key), problem, value) from exc
        if not all(b.is_finite() for b in bounds) or not Decimal(0) <= bounds[0] <= bounds[1] <= Decimal(1):
            raise ProgrammeError(self._key(key), problem, value)
        return ProbabilityRange(bounds[0], bounds[1])

    def score_range(self, key: str) -> ScoreRange | None:
        value = self._get(key, None)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value, value]
        if (
            not isinstance(value, list)
            or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
            or not SCORE_MIN <= value[0] <= value[1] <= SCORE_MAX
        ):
            raise ProgrammeError(
                self._key(key), "must be a score 1-5 or a range [low, high] within 1-5", value
            )
        return ScoreRange(value[0], value[1])
