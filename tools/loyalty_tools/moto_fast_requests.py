"""moto's per-request work at the local stack's sizes: DynamoDB requests read by the keys they have,
condition expressions parsed once, items sized once, action names listed once.

Profiled in the local moto server (cProfile, bench/local_stack.py --profile) during `loyalty import` of
2,000 customers x 3 purchases: of the server's time, 23 % went to reading each request's JSON against
the botocore shape value by value, 33 % to building items (moto re-sums the size of the whole item for
each attribute it adds: O(attributes^2) per item), 17 % to parsing the same few ConditionExpressions
again for every item of every transaction. Each patch gives moto's own answer for the requests the
local stack sends and takes moto's path for anything else.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.parse import JSONParser  # this module patches moto: only the moto server imports it


class KeysPresentParser(JSONParser):  # type: ignore[misc]
    """moto's JSONParser, visiting the keys a request has instead of every member of the botocore
    shape at each value (it looks up all ten members of AttributeValue for every attribute of every
    item). Same result: members under their shape's names, blobs decoded, numbers converted, nulls and
    unknown keys dropped; a structure's keys in the order the request gives them."""

    def _parse_structure(self, shape: Any, value: Any) -> Any:
        if shape.is_document_type or value is None:
            return value
        if shape.name == "AttributeValue" and isinstance(value, dict):
            return _attribute_value(value, self._blob_parser)
        members = _json_members(shape)
        parsed = self.MAP_TYPE()
        for json_name, raw in value.items():
            member = members.get(json_name)
            if member is not None and raw is not None:
                parsed[member[0]] = self._parse_shape(member[1], raw)
        return parsed

    def _parse_string(self, shape: Any, value: Any) -> Any:
        return value

    _parse_boolean = _parse_string


def plain_json_requests() -> None:
    """DynamoDB's JSON requests read by KeysPresentParser; other protocols take moto's path."""
    from moto.core.responses import determine_request_protocol, get_service_model
    from moto.dynamodb import responses

    handler = responses.DynamoHandler
    if getattr(handler.parse_parameters, "_keys_present", False):
        return
    original = handler.parse_parameters

    def parse_parameters(self: Any, request: Any) -> None:
        service_model = get_service_model(self.boto3_service_name)  # cached by moto
        if determine_request_protocol(service_model, request.content_type) != "json":
            return original(self, request)
        parser = KeysPresentParser(
            service_model.operation_model(self._get_action()), map_type=self.PROTOCOL_PARSER_MAP_TYPE
        )
        self.params = parser.parse(
            {
                "method": request.method,
                "values": request.values,
                "headers": request.headers,
                "body": request.data,
                "url_path": request.path,
                "url_params": self.uri_match,
            }
        )

    parse_parameters._keys_present = True  # type: ignore[attr-defined]
    handler.parse_parameters = parse_parameters  # type: ignore[method-assign]


SAME = frozenset({"S", "N", "SS", "NS", "NULL", "BOOL"})  # strings, booleans, lists of strings: as read


def _attribute_value(value: dict[str, Any] | None, blob: Any) -> dict[str, Any] | None:
    """One AttributeValue as moto's shape walk reads it (the items' values: most of a write's body),
    without looking up its ten members for each value: blobs decoded, maps and lists read in depth,
    nulls and unknown keys dropped."""
    if value is None:
        return None
    parsed: dict[str, Any] = {}
    for kind, inner in value.items():
        if inner is None:
            continue
        if kind in SAME:
            parsed[kind] = inner
        elif kind == "M":
            parsed[kind] = {key: _attribute_value(v, blob) for key, v in inner.items()}
        elif kind == "L":
            parsed[kind] = [_attribute_value(v, blob) for v in inner]
        elif kind == "B":
            parsed[kind] = blob(inner)
        elif kind == "BS":
            parsed[kind] = [blob(v) for v in inner]
    return parsed


def _json_members(shape: Any) -> dict[str, tuple[str, Any]]:
    """A structure's members by the name they have in JSON: (member name, member shape), kept on the
    shape (botocore caches the shapes of an operation model and the operation models of a service
    model; moto caches its service models)."""
    members = getattr(shape, "_json_members", None)
    if members is None:
        members = {
            member.serialization.get("name", name): (name, member) for name, member in shape.members.items()
        }
        shape._json_members = members
    return members


def cached_condition_expressions(size: int = 4096) -> None:
    """moto's ConditionExpressionParser.parse, remembered per (expression, names, values): the tree it
    builds (values included) is only read when evaluated (Op.expr), so one parse serves every request
    with the same text. The local stack's conditions are a handful (`attribute_not_exists(#0)`,
    `#0 = :0` with a version among few): most requests hit. Expressions that fail to parse are not
    remembered (the error is raised each time); values that JSON cannot key (binary) take moto's path.
    Bounded: the oldest entries go when full."""
    from moto.dynamodb import comparisons

    parser = comparisons.ConditionExpressionParser
    if getattr(parser.parse, "_cached", False):
        return
    original = parser.parse
    parsed: dict[str, tuple[Any, list[str], list[str]]] = {}

    def parse(self: Any) -> Any:
        if not self.condition_expression:
            return original(self)
        try:
            names, values = self.expression_attribute_names, self.expression_attribute_values
            key = json.dumps([self.condition_expression, names, values], sort_keys=True)
        except (TypeError, ValueError):
            return original(self)
        hit = parsed.get(key)
        if hit is None:
            op = original(self)
            hit = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            if len(parsed) >= size:
                del parsed[next(iter(parsed))]
            parsed[key] = hit
            return op
        op, names, values = hit
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(values)
        return op

    parse._cached = True  # type: ignore[attr-defined]
    parser.parse = parse  # type: ignore[method-assign]


ITEM_SIZE_LIMIT = 405_000  # moto's (LimitedSizeDict): DynamoDB's 400 KB, as measured by moto's authors


def items_sized_once() -> None:
    """moto's Item(...) adds attributes one by one to a LimitedSizeDict, which sums the size of every
    attribute already there before each one: O(n^2) per item. The check it makes (the running total
    over the limit) fails exactly when the total of the whole item is over the limit, so the item is
    sized once and refused with the same ItemSizeTooLarge. Later updates keep moto's checked dict."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    item_class = dynamo_type.Item
    if getattr(item_class.__init__, "_sized_once", False):
        return
    DynamoType, LimitedSizeDict = dynamo_type.DynamoType, dynamo_type.LimitedSizeDict

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        values = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in values.items()) > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict(values)  # dict.update: no per-attribute check

    __init__._sized_once = True  # type: ignore[attr-defined]
    item_class.__init__ = __init__  # type: ignore[method-assign]


def cached_action_names() -> None:
    """moto finds the method for each request's action by listing the handler class's functions with
    inspect.getmembers (about a tenth of a small request in the local server): the list of a class is
    the same for every request, so it is listed once per class."""
    import functools

    from moto.core import responses

    if getattr(responses.method_names_from_class, "_cached", False):
        return
    cached = functools.lru_cache(maxsize=None)(responses.method_names_from_class)
    cached._cached = True  # type: ignore[attr-defined]
    responses.method_names_from_class = cached  # type: ignore[assignment]


def scan_order_by_native_keys() -> None:
    """moto's Scan sorts the whole table for every page (Table.all_items), comparing DynamoType keys
    in Python (each comparison builds both cast values): at 25,000 customers about 370,000 comparisons
    a page, and a pass over the table has one page per MB. For string keys the order is the strings'
    own, so the sort compares them natively; other key types keep moto's sort."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.all_items, "_native_keys", False):
        return
    original = Table.all_items

    def all_items(self: Any) -> list[Any]:
        if self.hash_key_type != "S" or (self.range_key_attr and self.range_key_type != "S"):
            return original(self)
        if self.range_key_attr:
            items = [item for hash_set in self.items.values() for item in hash_set.values()]
            return sorted(items, key=lambda x: (x.hash_key.value, x.range_key.value))
        return sorted(self.items.values(), key=lambda x: x.hash_key.value)

    all_items._native_keys = True  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]
