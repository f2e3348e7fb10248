"""A real S3 endpoint on 127.0.0.1: moto's server, spoken to over HTTP like any bucket.

`S3Endpoint.start()` runs moto's threaded server on a free port; `new_bucket()` creates an
empty bucket and `client()` is a plain boto3 client for looking inside it. The settings
fixture in tests/conftest.py (`s3_media`) points Django's storages at it. Nothing of
Shelfwatch or of boto is patched: requests go through the network stack as they would
to MinIO or AWS.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


@dataclass
class S3Endpoint:
    url: str = ""
    _server: ThreadedMotoServer | None = None
    _names: itertools.count = field(default_factory=itertools.count)

    def start(self) -> S3Endpoint:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = f"shelfwatch-media-{next(self._names)}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key in `bucket` under `prefix`, sorted."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def storage_options(self, bucket: str, **extra: Any) -> dict[str, Any]:
        """The OPTIONS of `storages.backends.s3.S3Storage` for `bucket` on this endpoint,
        as settings.py builds them from the MEDIA_S3_* variables."""
        return {
            "bucket_name": bucket,
            "endpoint_url": self.url,
            "region_name": REGION,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "querystring_auth": True,
            "querystring_expire": 600,
            "signature_version": "s3v4",
            "location": "",
            "max_memory_size": 2 * 1024 * 1024,
            **extra,
        }


@dataclass
class Bucket:
    """One bucket of an `S3Endpoint`, as the tests look into it."""

    endpoint: S3Endpoint
    name: str

    def keys(self, prefix: str = "") -> list[str]:
        return self.endpoint.keys(self.name, prefix)

    def read(self, key: str) -> bytes:
        return self.endpoint.read(self.name, key)
