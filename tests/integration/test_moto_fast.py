"""The local stack's moto patches for reads and updates (tools/loyalty_tools/moto_fast.py): the same
answers as moto's own path, for every attribute type (a binary value takes moto's path)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

ITEM = {
    "pk": {"S": "C1"},
    "n": {"N": "12.50"},
    "m": {"M": {"s": {"N": "3"}, "c": {"M": {"food": {"N": "1250"}}}, "l": {"L": [{"S": "x"}, {"N": "1"}]}}},
    "flag": {"BOOL": True},
    "none": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "version": {"N": "1"},
}


@pytest.fixture
def ddb():  # type: ignore[no-untyped-def]
    from loyalty_tools.moto_fast import plain_json_reads, update_item_without_stream_copy

    plain_json_reads()
    update_item_without_stream_copy()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_reads_answer_the_item_as_written(ddb) -> None:  # type: ignore[no-untyped-def]
    ddb.put_item(TableName="t", Item=ITEM)
    ddb.put_item(TableName="t", Item={"pk": {"S": "C2"}, "b": {"B": b"\x00\x01"}})
    for _ in range(2):  # the first answer of each operation takes moto's path, later ones the fast one
        assert ddb.get_item(TableName="t", Key={"pk": {"S": "C1"}}, ConsistentRead=True)["Item"] == ITEM
        assert ddb.get_item(TableName="t", Key={"pk": {"S": "C2"}})["Item"]["b"] == {"B": b"\x00\x01"}
        assert "Item" not in ddb.get_item(TableName="t", Key={"pk": {"S": "NOPE"}})
        scanned = ddb.scan(TableName="t", Limit=1)
        assert scanned["Count"] == 1 and "LastEvaluatedKey" in scanned
        rest = ddb.scan(TableName="t", ExclusiveStartKey=scanned["LastEvaluatedKey"])
        assert sorted(i["pk"]["S"] for i in scanned["Items"] + rest["Items"]) == ["C1", "C2"]
        assert ITEM in scanned["Items"] + rest["Items"]
        queried = ddb.query(
            TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "C1"}}
        )
        assert queried["Items"] == [ITEM]
        batch = ddb.batch_get_item(
            RequestItems={"t": {"Keys": [{"pk": {"S": "C1"}}], "ConsistentRead": True}}
        )
        assert batch["Responses"]["t"] == [ITEM]


def test_a_conditional_update_applies_once_and_a_failed_one_changes_nothing(ddb) -> None:  # type: ignore[no-untyped-def]
    ddb.put_item(TableName="t", Item=ITEM)
    update = {
        "TableName": "t",
        "Key": {"pk": {"S": "C1"}},
        "UpdateExpression": "SET version = :new, n = :n",
        "ConditionExpression": "version = :old",
        "ExpressionAttributeValues": {":new": {"N": "2"}, ":old": {"N": "1"}, ":n": {"N": "7"}},
    }
    ddb.update_item(**update)
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.update_item(
            **{
                **update,
                "ExpressionAttributeValues": {":new": {"N": "3"}, ":old": {"N": "1"}, ":n": {"N": "9"}},
            }
        )
    item = ddb.get_item(TableName="t", Key={"pk": {"S": "C1"}})["Item"]
    assert item == {**ITEM, "version": {"N": "2"}, "n": {"N": "7"}}


# -- moto_fast_requests: requests, conditions, item sizes -------------------------------------------

BODIES = {
    "PutItem": {
        "TableName": "t",
        "Item": {
            **ITEM,
            "b": {"B": "AAE="},
            "bs": {"BS": ["AAE=", "Ag=="]},
            "l": {"L": [{"M": {"B": {"S": "x"}}}]},
        },
        "ConditionExpression": "attribute_not_exists(#k) OR #v = :v",
        "ExpressionAttributeNames": {"#k": "pk", "#v": "version"},
        "ExpressionAttributeValues": {":v": {"N": "1"}, ":b": {"B": "AAE="}},
        "ReturnValues": "ALL_OLD",
        "ReturnConsumedCapacity": "TOTAL",
        "NotAMember": "dropped",
        "Expected": None,
    },
    "TransactWriteItems": {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": ITEM, "ConditionExpression": "attribute_not_exists(pk)"}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "C2"}},
                    "UpdateExpression": "SET #r = :r",
                    "ExpressionAttributeNames": {"#r": "returned"},
                    "ExpressionAttributeValues": {":r": {"N": "5"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "C3"}},
                    "ConditionExpression": "x = :x",
                    "ExpressionAttributeValues": {":x": {"NULL": True}},
                }
            },
            {"Delete": {"TableName": "t", "Key": {"pk": {"S": "C4"}}}},
        ],
        "ClientRequestToken": "abc",
    },
    "Scan": {
        "TableName": "t",
        "Segment": 1,
        "TotalSegments": 4,
        "Limit": 10,
        "ConsistentRead": True,
        "ExclusiveStartKey": {"pk": {"S": "C1"}},
    },
    "BatchGetItem": {"RequestItems": {"t": {"Keys": [{"pk": {"S": "C1"}}, {"pk": {"B": "AAE="}}]}}},
    "BatchWriteItem": {
        "RequestItems": {
            "t": [{"PutRequest": {"Item": ITEM}}, {"DeleteRequest": {"Key": {"pk": {"S": "C2"}}}}]
        }
    },
}


@pytest.mark.parametrize("operation", sorted(BODIES))
def test_requests_read_by_the_keys_they_have_parse_as_moto_parses_them(operation: str) -> None:
    import json

    from botocore.session import get_session
    from loyalty_tools.moto_fast_requests import KeysPresentParser
    from moto.core.parse import JSONParser

    model = get_session().get_service_model("dynamodb").operation_model(operation)
    request = {
        "method": "POST",
        "values": {},
        "headers": {},
        "url_path": "/",
        "url_params": {},
        "body": json.dumps(BODIES[operation]).encode(),
    }
    assert KeysPresentParser(model).parse(request) == JSONParser(model).parse(request)


def test_a_remembered_condition_is_evaluated_with_its_own_values(ddb) -> None:  # type: ignore[no-untyped-def]
    from loyalty_tools.moto_fast_requests import cached_condition_expressions

    cached_condition_expressions()
    ddb.put_item(TableName="t", Item=ITEM)

    def put(expected: str) -> None:
        ddb.put_item(
            TableName="t",
            Item={**ITEM, "n": {"N": expected}},
            ConditionExpression="#v = :v",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":v": {"N": expected}},
        )

    put("1")
    put("1")  # the same text again: the remembered tree, the same answer
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        put("2")  # other values: another tree
    for _ in range(2):  # a name the expression does not use is refused, remembered or not
        with pytest.raises(ddb.exceptions.ClientError, match="unused in expressions"):
            ddb.put_item(
                TableName="t",
                Item=ITEM,
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "version", "#x": "n"},
                ExpressionAttributeValues={":v": {"N": "1"}},
            )
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "C1"}})["Item"]["n"] == {"N": "1"}


def test_an_item_over_the_size_limit_is_refused_and_one_under_it_is_stored(ddb) -> None:  # type: ignore[no-untyped-def]
    from loyalty_tools.moto_fast_requests import items_sized_once

    items_sized_once()
    with pytest.raises(ddb.exceptions.ClientError, match="Item size has exceeded"):
        ddb.put_item(
            TableName="t", Item={"pk": {"S": "big"}, **{f"a{i}": {"S": "x" * 1000} for i in range(410)}}
        )
    ddb.put_item(TableName="t", Item={"pk": {"S": "ok"}, **{f"a{i}": {"S": "x" * 1000} for i in range(390)}})
    assert "Item" not in ddb.get_item(TableName="t", Key={"pk": {"S": "big"}})
    assert len(ddb.get_item(TableName="t", Key={"pk": {"S": "ok"}})["Item"]) == 391


def test_a_cancelled_transaction_writes_nothing_and_names_the_failed_condition(ddb) -> None:  # type: ignore[no-untyped-def]
    from loyalty_tools.moto_fast import install_all

    install_all()
    ddb.put_item(TableName="t", Item=ITEM)
    new = {
        "Put": {
            "TableName": "t",
            "Item": {"pk": {"S": "NEW"}, "b": {"B": b"\x00"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as failed:
        ddb.transact_write_items(
            TransactItems=[
                new,
                {"Put": {"TableName": "t", "Item": ITEM, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
    reasons = [r["Code"] for r in failed.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert "Item" not in ddb.get_item(TableName="t", Key={"pk": {"S": "NEW"}})
    ddb.transact_write_items(TransactItems=[new])
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "NEW"}})["Item"]["b"] == {"B": b"\x00"}


def test_an_item_is_sized_once_per_attribute_not_once_per_pair(ddb) -> None:  # type: ignore[no-untyped-def]
    from unittest import mock

    from loyalty_tools.moto_fast_requests import items_sized_once
    from moto.dynamodb.models.dynamo_type import DynamoType

    items_sized_once()
    real = DynamoType.size
    with mock.patch.object(DynamoType, "size", autospec=True, side_effect=real) as size:
        ddb.put_item(TableName="t", Item={"pk": {"S": "wide"}, **{f"a{i}": {"S": "x"} for i in range(200)}})
    assert size.call_count <= 2 * 201  # moto alone: 20,302 (every attribute again for each one added)


def test_a_condition_text_is_parsed_once(ddb) -> None:  # type: ignore[no-untyped-def]
    from unittest import mock

    from loyalty_tools.moto_fast_requests import cached_condition_expressions
    from moto.dynamodb.comparisons import ConditionExpressionParser

    cached_condition_expressions()
    real = ConditionExpressionParser._lex_condition_expression
    with mock.patch.object(
        ConditionExpressionParser, "_lex_condition_expression", autospec=True, side_effect=real
    ) as lexed:
        for i in range(50):
            ddb.put_item(
                TableName="t",
                Item={"pk": {"S": f"once-{i}"}},
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": "pk"},
            )
    assert lexed.call_count <= 1  # moto alone: 100 (the handler's check and the table's, per request)


def test_scan_pages_follow_the_string_keys_in_order_without_gaps_or_repeats(ddb) -> None:  # type: ignore[no-untyped-def]
    from loyalty_tools.moto_fast_requests import scan_order_by_native_keys

    scan_order_by_native_keys()
    keys = [f"K{i:03d}" for i in (5, 100, 12, 7, 250, 0, 99, 1)] + ["k", "Ä", "a b", "Z"]
    for key in keys:
        ddb.put_item(TableName="t", Item={"pk": {"S": key}})
    seen: list[str] = []
    start: dict | None = None
    while True:
        page = ddb.scan(TableName="t", Limit=3, **({"ExclusiveStartKey": start} if start else {}))
        seen += [item["pk"]["S"] for item in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == sorted(keys)
