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
