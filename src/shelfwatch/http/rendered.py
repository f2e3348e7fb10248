"""JSON answers rendered as Ninja renders them, without validating them against the
route's response schema again.

Ninja validates every returned value against the route's response schema (a DjangoGetter
walk over every field of every nested object) and then dumps it again; for a payload
that is already plain JSON-ready values of exactly the schema's types (the shop's cart
and order payloads), that costs a tenth of a rush request's CPU and changes nothing.
The route keeps its `response=` schema for the OpenAPI document; a test checks that the
body validates against it.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from ninja.responses import NinjaJSONEncoder

# What ninja.renderers.JSONRenderer sends.
CONTENT_TYPE = "application/json; charset=utf-8"


def json_response(data: Any, *, status: int = 200) -> HttpResponse:
    """`data` as Ninja's default renderer writes it (same encoder, same content type)."""
    return HttpResponse(
        json.dumps(data, cls=NinjaJSONEncoder), status=status, content_type=CONTENT_TYPE
    )
