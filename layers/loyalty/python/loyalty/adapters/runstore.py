"""The RunStore port on S3: one small JSON object per step result of a reclassification run."""

from __future__ import annotations

import json
from typing import Any


class S3RunStore:
    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def put(self, key: str, document: dict[str, Any]) -> None:
        body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        return json.loads(response["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)


CANDIDATES_PREFIX = "what-if/candidates/"  # the only keys the points function may write (permissions.py)


class S3CandidateStore:
    """The CandidateStore port: a what-if's candidate programme in the run bucket, under its content
    hash (the same candidate, the same key: a retry rewrites the same bytes)."""

    def __init__(self, runs: S3RunStore) -> None:
        self.runs = runs

    def put(self, digest: str, document: dict[str, Any]) -> str:
        key = f"{CANDIDATES_PREFIX}{digest}.json"
        self.runs.put(key, document)
        return key
