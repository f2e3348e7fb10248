"""Every write route against boundary values: a clear 4xx, never a 500, nothing stored wrong.

The routes come from the OpenAPI document, so a new route is walked without a change here.
For each operation, each body property in turn takes each boundary value while the other
required properties hold plain values; each path id takes each boundary id.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from shelfwatch.catalog.models import Product
from shelfwatch.inventory.models import StockItem

# Each request in its own transaction, as in production: on PostgreSQL one failed statement
# would otherwise poison every later request of the walk.
pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY_VALUES = [0, -1, 2**31, 2**63, 1e30, "1e30", "x" * 300, "a\x00b", "\ud800", "NaN"]
BOUNDARY_IDS = ["0", "-1", str(2**31), str(2**63), str(10**30)]
WRITE_METHODS = {"post", "put", "patch", "delete"}
# Routes that are not JSON APIs a client writes to: a provider's signed webhook.
SKIPPED = {"/api/v1/notify/whatsapp/webhook"}


def plain_value(schema: dict, components: dict):
    """A value of the property's type that is not itself a boundary."""
    schema = resolve(schema, components)
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return plain_value(option, components)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    return {"integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}.get(kind, "x")


def resolve(schema: dict, components: dict) -> dict:
    ref = schema.get("$ref")
    return components[ref.rsplit("/", 1)[-1]] if ref else schema


def operations(doc: dict):
    for path, ops in doc["paths"].items():
        if path in SKIPPED:
            continue
        for method, op in ops.items():
            yield path, method, op


def bodies(op: dict, components: dict):
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        yield None
        return
    schema = resolve(content["application/json"]["schema"], components)
    properties = schema.get("properties", {})
    base = {name: plain_value(properties[name], components) for name in schema.get("required", [])}
    yield base
    for name in properties:
        for value in BOUNDARY_VALUES:
            yield {**base, name: value}


@pytest.fixture
def world(callers, store_a):
    """Rows for the ids 1 the walk uses, so requests get past their 404s."""
    product = Product.objects.create(name="Amul Butter 500 g", brand="Amul")
    StockItem.objects.create(store=store_a, product=product, quantity=5)
    return callers


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def send(caller, method: str, path: str, body):
    payload = "" if body is None else json.dumps(body)
    return caller.client.generic(
        method.upper(), path, payload, content_type="application/json", headers=caller.headers
    )


@pytest.mark.parametrize("who", ["admin", "anon"])
def test_no_write_route_answers_500_to_boundary_values(world, who, settings):
    settings.THROTTLE_ENABLED = False
    caller = world[who]
    doc = world["admin"].get("/api/v1/openapi.json").json()
    components = doc.get("components", {}).get("schemas", {})
    failures = []
    for path, method, op in operations(doc):
        if method not in WRITE_METHODS:
            continue
        for body in bodies(op, components):
            answer = send(caller, method, fill(path, "1"), body)
            if answer.status_code >= 500:
                failures.append((method, path, body, answer.status_code))
        for bad_id in BOUNDARY_IDS if "{" in path else []:
            answer = send(caller, method, fill(path, bad_id), None)
            if answer.status_code >= 500:
                failures.append((method, fill(path, bad_id), None, answer.status_code))
    assert failures == [], "\n".join(map(repr, failures))


@pytest.mark.parametrize("who", ["admin", "anon"])
def test_no_read_route_answers_500_to_boundary_ids_and_cursors(world, who):
    caller = world[who]
    doc = world["admin"].get("/api/v1/openapi.json").json()
    failures = []
    for path, method, op in operations(doc):
        if method != "get":
            continue
        for bad in BOUNDARY_IDS:
            query = {p["name"]: bad for p in op.get("parameters", []) if p.get("in") == "query"}
            answer = caller.client.get(fill(path, bad), query, headers=caller.headers)
            if answer.status_code >= 500:
                failures.append((path, bad, answer.status_code))
    assert failures == [], "\n".join(map(repr, failures))


def test_an_out_of_range_price_is_refused_and_the_item_stays_readable(world):
    item = StockItem.objects.get()
    url = f"/api/v1/stores/{item.store_id}/inventory/{item.pk}"
    answer = world["admin"].patch(url, {"selling_price": "1e30"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "selling_price"
    item.refresh_from_db()
    assert item.selling_price is None
    assert world["admin"].get(url).status_code == 200
    assert world["admin"].patch(url, {"selling_price": "12.50"}).json()["selling_price"] == "12.50"
    item.refresh_from_db()
    assert item.selling_price == Decimal("12.50")


def test_a_forged_cursor_holding_a_key_beyond_64_bits_is_a_400(world):
    from shelfwatch.http.cursors import encode_cursor

    forged = encode_cursor(2**70)
    answer = world["customer"].get(f"/api/v1/loyalty/history?cursor={forged}")
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_cursor"


def test_a_search_in_a_category_that_does_not_exist_finds_nothing(world):
    answer = world["anon"].get("/api/v1/products?q=butter&category=987654")
    assert answer.status_code == 200
    assert answer.json()["items"] == []


MALFORMED_MULTIPART = [
    ("multipart/form-data", b"no boundary named"),
    ("multipart/form-data; boundary=zz", b"--zz\r\nContent-Disposition: form-data; name"),
    (
        "multipart/form-data; boundary=zz",
        b"".join(
            b'--zz\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % n
            for n in range(1100)
        )
        + b"--zz--\r\n",
    ),
]


def test_no_upload_route_answers_500_to_a_malformed_multipart_body(world, settings):
    settings.THROTTLE_ENABLED = False
    caller = world["admin"]
    doc = caller.get("/api/v1/openapi.json").json()
    uploads = [
        (path, method)
        for path, method, op in operations(doc)
        if "multipart/form-data" in op.get("requestBody", {}).get("content", {})
    ]
    assert uploads, "no route takes an upload"
    failures = []
    for path, method in uploads:
        for content_type, body in MALFORMED_MULTIPART:
            answer = caller.client.generic(
                method.upper(),
                fill(path, "1"),
                body,
                content_type=content_type,
                headers=caller.headers,
            )
            if answer.status_code >= 500 or (
                answer.status_code == 400 and answer["Content-Type"] != "application/problem+json"
            ):
                failures.append((method, path, content_type, answer.status_code))
    assert failures == [], "\n".join(map(repr, failures))
