"""The MEDIA_S3_* variables as an operator sets them, read by a fresh settings module.

Each case loads the settings in a child process with only the given environment, so what
is checked is what `shelfwatch web` would start with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

SHOW = (
    "import json; from django.conf import settings; "
    "print(json.dumps({'storages': settings.STORAGES, 'serve': settings.SERVE_MEDIA}, "
    "default=str))"
)


def settings_with(tmp_path, **env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIA_", "AWS_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL"):
        base.pop(name, None)
    base.update(
        DJANGO_SETTINGS_MODULE="shelfwatch.config.settings",
        DATA_DIR=str(tmp_path),
        SHELFWATCH_ENV_FILE=str(tmp_path / "none.env"),
        **env,
    )
    done = subprocess.run(
        [sys.executable, "-c", SHOW],
        env=base,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_without_a_bucket_media_and_snapshots_are_local_files(tmp_path):
    found = settings_with(tmp_path)
    assert found["storages"]["default"]["BACKEND"].endswith("FileSystemStorage")
    assert "feeds" not in found["storages"]
    assert found["serve"] is True  # the embedded install serves its own media


def test_a_bucket_takes_media_and_feed_snapshots_with_every_option_the_operator_set(tmp_path):
    found = settings_with(
        tmp_path,
        MEDIA_S3_BUCKET="shop-media",
        MEDIA_S3_ENDPOINT_URL="https://minio.example.net",
        MEDIA_S3_REGION="ap-south-1",
        MEDIA_S3_ACCESS_KEY_ID="AKIAEXAMPLE",
        MEDIA_S3_SECRET_ACCESS_KEY="secret-example",
        MEDIA_S3_PREFIX="/shelfwatch/",
        MEDIA_S3_URL_EXPIRES="900",
        MEDIA_S3_ADDRESSING_STYLE="path",
        MEDIA_S3_CUSTOM_DOMAIN="cdn.example.net",
    )
    default, feeds = found["storages"]["default"], found["storages"]["feeds"]
    assert default["BACKEND"] == feeds["BACKEND"] == "storages.backends.s3.S3Storage"
    options = default["OPTIONS"]
    assert options["bucket_name"] == "shop-media"
    assert options["endpoint_url"] == "https://minio.example.net"
    assert options["region_name"] == "ap-south-1"
    assert (options["access_key"], options["secret_key"]) == ("AKIAEXAMPLE", "secret-example")
    assert (
        options["location"] == "shelfwatch" and feeds["OPTIONS"]["location"] == "shelfwatch/feeds"
    )
    assert options["querystring_auth"] is True and options["querystring_expire"] == 900
    assert options["signature_version"] == "s3v4" and options["addressing_style"] == "path"
    assert options["custom_domain"] == "cdn.example.net"
    assert options["max_memory_size"] > 0  # large objects spool to disk, not memory
    assert found["storages"]["staticfiles"]["BACKEND"].startswith("django.contrib.staticfiles")
    assert found["serve"] is False  # the bucket serves them


def test_without_keys_boto3_finds_its_own_credentials_and_public_buckets_skip_signing(tmp_path):
    found = settings_with(tmp_path, MEDIA_S3_BUCKET="shop-media", MEDIA_S3_SIGNED_URLS="0")
    options = found["storages"]["default"]["OPTIONS"]
    assert "access_key" not in options and "secret_key" not in options
    assert options["querystring_auth"] is False
    assert (
        options["location"] == "" and found["storages"]["feeds"]["OPTIONS"]["location"] == "feeds"
    )
