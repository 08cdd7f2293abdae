"""Parsing a request body strictly: one JSON document, each key once, numbers of a sane length.

The standard parser takes the last of two equal keys, accepts NaN and Infinity, raises ValueError on an
integer of more than 4,300 digits and RecursionError on deep nesting: each of those is a 400 here."""

from __future__ import annotations

import json
from typing import Any

MAX_NUMBER_DIGITS = 32  # more than any amount, count or points figure the API takes


class BodyError(ValueError):
    """The body is not JSON the API accepts; the message says why, in words."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BodyError(f"the key {key!r} appears twice")
        out[key] = value
    return out


def _number(text: str) -> Any:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise BodyError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _constant(name: str) -> Any:
    raise BodyError(f"{name} is not a JSON number")


def parse_body(text: str) -> Any:
    try:
        return json.loads(
            text, object_pairs_hook=_object, parse_int=_number, parse_float=_number, parse_constant=_constant
        )
    except BodyError:
        raise
    except RecursionError:
        raise BodyError("is nested too deeply") from None
    except ValueError as exc:
        raise BodyError("is not valid JSON") from exc
