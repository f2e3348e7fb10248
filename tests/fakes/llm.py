"""A fake language model speaking both tool-calling formats, with scripted turns.

* ``POST /v1/chat/completions`` — OpenAI's format: ``{"model", "messages", "tools":
  [{"type": "function", "function": {"name", "description", "parameters"}}], "max_tokens"}``;
  answers ``{"choices": [{"message": {"role": "assistant", "content", "tool_calls":
  [{"id", "type": "function", "function": {"name", "arguments": "<JSON string>"}}]},
  "finish_reason"}], "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}``.
  Tool results come back as ``{"role": "tool", "tool_call_id", "content"}``.
* ``POST /v1beta/models/<model>:generateContent`` — Gemini's REST format: ``{"contents":
  [{"role": "user"|"model", "parts": [{"text"} | {"functionCall": {"name", "args"}} |
  {"functionResponse": {"name", "response"}}]}], "tools": [{"functionDeclarations": [...]}],
  "systemInstruction", "generationConfig": {"maxOutputTokens"}}``; answers ``{"candidates":
  [{"content": {"role": "model", "parts": [...]}, "finishReason": "STOP"}],
  "usageMetadata": {"totalTokenCount"}}``.

A wrong key is a 401 in the provider's error shape. What the model "says" is scripted:
`script(step, ...)` queues steps, each a `Call(name, args)` list (tool calls), a `Say(text)`,
or a function of the `Seen` request returning one of those; with the queue empty the model
says `default`. `Seen` is the request read the same way from both formats: the last user
text, every tool result so far (parsed back from the wire), the tools offered, the system
text.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.json_service import Call as HttpCall
from tests.fakes.json_service import JsonService, Reply

API_KEY = "fake-llm-key"
_GEMINI_PATH = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):generateContent$")
_TOOL_DATA = re.compile(r"<tool_data>\n(.*)\n</tool_data>", re.S)


@dataclass(frozen=True)
class Call:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Say:
    text: str


@dataclass
class Seen:
    """One request to the model, read alike from both formats."""

    format: str  # "openai" or "gemini"
    system: str
    user_text: str  # the last user message's text
    tool_results: list[dict[str, Any]]
    tool_names: list[str]
    max_tokens: int | None
    body: dict[str, Any]


Step = Call | Say | list[Call] | Callable[[Seen], "Call | Say | list[Call]"]


class FakeLlm(JsonService):
    kind = "llm"
    server_header = "fake-llm"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, key: str = API_KEY) -> None:
        super().__init__(host, port)
        self.key = key
        self.default: Step = Say("I do not know.")
        self.tokens_per_reply = 50
        self._steps: list[Step] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.seen: list[Seen] = []

    # -- scripting ------------------------------------------------------------------------------
    def script(self, *steps: Step) -> None:
        """Queue what the model does on its next requests, one step per request."""
        with self._lock:
            self._steps.extend(steps)

    def reset(self) -> None:
        with self._lock:
            self._steps.clear()
            self.seen.clear()
        self.clear_calls()

    def _next(self, seen: Seen) -> Call | Say | list[Call]:
        with self._lock:
            self.seen.append(seen)
            step = self._steps.pop(0) if self._steps else self.default
        while callable(step) and not isinstance(step, Call | Say):
            step = step(seen)
        return step

    @property
    def openai_base(self) -> str:
        return self.url("/v1")

    @property
    def gemini_base(self) -> str:
        return self.url("/v1beta")

    # -- HTTP -----------------------------------------------------------------------------------
    def handle(self, call: HttpCall) -> Reply:
        if call.method != "POST":
            return Reply.json({"error": "method not allowed"}, 405)
        try:
            body = call.json()
        except ValueError:
            return Reply.json({"error": {"message": "bad JSON"}}, 400)
        if call.path == "/v1/chat/completions":
            if call.bearer_token() != self.key:
                return Reply.json(
                    {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}, 401
                )
            return self._openai(body)
        if _GEMINI_PATH.match(call.path):
            if call.header("x-goog-api-key") != self.key:
                return Reply.json(
                    {
                        "error": {
                            "code": 401,
                            "message": "API key not valid",
                            "status": "UNAUTHENTICATED",
                        }
                    },
                    401,
                )
            return self._gemini(body)
        return Reply.json({"error": "not found"}, 404)

    def _openai(self, body: dict) -> Reply:
        results, user_text, system = [], "", ""
        for message in body.get("messages", []):
            role = message.get("role")
            if role == "system":
                system = message.get("content") or ""
            elif role == "user":
                user_text = message.get("content") or ""
            elif role == "tool":
                match = _TOOL_DATA.search(message.get("content") or "")
                results.append(json.loads(match.group(1)) if match else {"raw": message["content"]})
        seen = Seen(
            format="openai",
            system=system,
            user_text=user_text,
            tool_results=results,
            tool_names=[tool["function"]["name"] for tool in body.get("tools", [])],
            max_tokens=body.get("max_tokens"),
            body=body,
        )
        step = self._next(seen)
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if isinstance(step, Say):
            message["content"] = step.text
            finish = "stop"
        else:
            calls = [step] if isinstance(step, Call) else step
            message["tool_calls"] = [
                {
                    "id": f"call_{next(self._ids)}",
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.args)},
                }
                for c in calls
            ]
            finish = "tool_calls"
        tokens = self.tokens_per_reply
        return Reply.json(
            {
                "id": f"chatcmpl-{next(self._ids)}",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
            }
        )

    def _gemini(self, body: dict) -> Reply:
        results, user_text = [], ""
        for content in body.get("contents", []):
            for part in content.get("parts", []):
                if "functionResponse" in part:
                    response = part["functionResponse"].get("response") or {}
                    results.append(response.get("data", response))
                elif "text" in part and content.get("role") == "user":
                    user_text = part["text"]
        system_parts = (body.get("systemInstruction") or {}).get("parts", [])
        declarations = [
            d for tool in body.get("tools", []) for d in tool.get("functionDeclarations", [])
        ]
        seen = Seen(
            format="gemini",
            system="".join(part.get("text", "") for part in system_parts),
            user_text=user_text,
            tool_results=results,
            tool_names=[d["name"] for d in declarations],
            max_tokens=(body.get("generationConfig") or {}).get("maxOutputTokens"),
            body=body,
        )
        step = self._next(seen)
        if isinstance(step, Say):
            parts = [{"text": step.text}]
        else:
            calls = [step] if isinstance(step, Call) else step
            parts = [{"functionCall": {"name": c.name, "args": c.args}} for c in calls]
        return Reply.json(
            {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": parts},
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": {"totalTokenCount": self.tokens_per_reply},
            }
        )
