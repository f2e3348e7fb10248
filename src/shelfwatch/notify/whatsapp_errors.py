"""What each WhatsApp Cloud API error means for us: one table, used however the error arrives.

Meta reports a send error either in the send response (a Graph error document) or later in
a `failed` status webhook, sometimes both. Both paths look the code up here and get the same
action: retry with backoff, resend as a template (the reply window closed), opt the person out
of marketing, pause the sending number, pause the whole channel and tell the operator, or
fail this one message. docs/notifications.md lists the table with its sources.
"""

from __future__ import annotations

from dataclasses import dataclass

RETRY = "retry"
TEMPLATE = "resend_as_template"
OPT_OUT = "opt_out_marketing"
PAUSE_NUMBER = "pause_number"
PAUSE_CHANNEL = "pause_channel"
FAIL = "fail"

# Where the meanings come from: Meta's error-code page for the Cloud API, and the Graph API
# error-handling page for the generic codes.
META = "Meta: WhatsApp Cloud API error codes"
GRAPH = "Meta: Graph API error handling"

MINUTE = 60.0
HOUR = 3600.0


@dataclass(frozen=True)
class ErrorRule:
    """One documented code: what it means, what we do, and how long we wait."""

    code: int
    meaning: str
    action: str
    # RETRY: the least wait before the next try; a pause: how long it lasts.
    wait: float = 0.0
    # RETRY only: the first gap of an exponential backoff of its own (doubling each try).
    backoff_base: float = 0.0
    # Pauses: whether the operator gets an email (throttling that lifts by itself does not).
    tell_operator: bool = False
    source: str = META


_RULES = (
    # Authorization and account: nothing goes out until someone fixes it.
    ErrorRule(0, "AuthException: the app user could not be authenticated", PAUSE_CHANNEL,
              15 * MINUTE, tell_operator=True, source=GRAPH),
    ErrorRule(3, "API method: capability or permissions issue", PAUSE_CHANNEL, 15 * MINUTE,
              tell_operator=True, source=GRAPH),
    ErrorRule(10, "Permission denied or removed", PAUSE_CHANNEL, 15 * MINUTE,
              tell_operator=True, source=GRAPH),
    ErrorRule(190, "Access token expired or invalid", PAUSE_CHANNEL, 15 * MINUTE,
              tell_operator=True, source=GRAPH),
    ErrorRule(368, "Temporarily blocked for policy violations", PAUSE_CHANNEL, HOUR,
              tell_operator=True),
    ErrorRule(131005, "Access denied: permission not granted or removed", PAUSE_CHANNEL,
              15 * MINUTE, tell_operator=True),
    ErrorRule(131031, "Business account locked", PAUSE_CHANNEL, HOUR, tell_operator=True),
    ErrorRule(131037, "The number needs display name approval before sending", PAUSE_CHANNEL,
              HOUR, tell_operator=True),
    ErrorRule(131042, "Business eligibility payment issue", PAUSE_CHANNEL, HOUR,
              tell_operator=True),
    ErrorRule(131045, "Incorrect certificate: phone number registration error", PAUSE_CHANNEL,
              HOUR, tell_operator=True),
    ErrorRule(133000, "Incomplete deregistration of the phone number", PAUSE_CHANNEL, HOUR,
              tell_operator=True),
    ErrorRule(133010, "Phone number not registered on the platform", PAUSE_CHANNEL, HOUR,
              tell_operator=True),
    # Throttling of the number or the app: wait, then go on.
    ErrorRule(4, "Too many API calls by the app", PAUSE_NUMBER, MINUTE, source=GRAPH),
    ErrorRule(80007, "The business account reached its rate limit", PAUSE_NUMBER, MINUTE),
    ErrorRule(130429, "Cloud API message throughput reached", PAUSE_NUMBER, 5.0),
    ErrorRule(131048, "Spam rate limit: the number is restricted after blocks or spam reports",
              PAUSE_NUMBER, HOUR, tell_operator=True),
    ErrorRule(131057, "Account in maintenance mode (e.g. a throughput upgrade)", PAUSE_NUMBER,
              MINUTE),
    # One message or one person: retry it later.
    ErrorRule(1, "API unknown: invalid request or possible server error", RETRY, 5.0,
              source=GRAPH),
    ErrorRule(2, "API service: temporary downtime or overload", RETRY, 10.0, source=GRAPH),
    ErrorRule(131000, "Something went wrong", RETRY, 5.0),
    ErrorRule(131016, "A service is temporarily unavailable", RETRY, 10.0),
    ErrorRule(131049, "Not delivered to keep ecosystem engagement healthy (per-person "
              "marketing limit)", RETRY, backoff_base=6 * HOUR),
    ErrorRule(131056, "Pair rate limit: too many messages to this person", RETRY, MINUTE),
    ErrorRule(133004, "Server temporarily unavailable", RETRY, 10.0),
    ErrorRule(131047, "Re-engagement: more than 24 hours since the person last wrote",
              TEMPLATE),
    ErrorRule(131050, "The person stopped marketing messages from this business", OPT_OUT),
    # This message can never go out as it is.
    ErrorRule(100, "Invalid parameter", FAIL, source=GRAPH),
    ErrorRule(130472, "The person's number is part of an experiment", FAIL),
    ErrorRule(130497, "The business may not message people in this country", FAIL),
    ErrorRule(131008, "Required parameter missing", FAIL),
    ErrorRule(131009, "Parameter value not valid", FAIL),
    ErrorRule(131021, "Recipient is the sender", FAIL),
    ErrorRule(131026, "Message undeliverable (no WhatsApp, old app, terms not accepted)", FAIL),
    ErrorRule(131030, "Recipient not in the test number's allowed list", FAIL),
    ErrorRule(131051, "Unsupported message type", FAIL),
    ErrorRule(131052, "Media download error", FAIL),
    ErrorRule(131053, "Media upload error", FAIL),
    ErrorRule(132000, "Template parameter count mismatch", FAIL),
    ErrorRule(132001, "Template does not exist in this language (or is not approved)", FAIL),
    ErrorRule(132005, "Template text too long after parameters", FAIL),
    ErrorRule(132007, "Template format character policy violated", FAIL),
    ErrorRule(132008, "Template parameter value formatted incorrectly", FAIL),
    ErrorRule(132012, "Template parameter format mismatch", FAIL),
    ErrorRule(132015, "Template paused for low quality", FAIL),
    ErrorRule(132016, "Template disabled for low quality", FAIL),
    ErrorRule(132018, "Template parameter has newlines, tabs or more than 4 spaces in a row",
              FAIL, source="seen in public client code; Meta's page does not list it"),
    ErrorRule(135000, "Generic user error", FAIL),
)  # fmt: skip

TABLE: dict[int, ErrorRule] = {rule.code: rule for rule in _RULES}


def rule_for(code: int, http_status: int = 400) -> ErrorRule:
    """The rule for `code`; an undocumented one is judged by its HTTP status (429 and 5xx
    retry, anything else fails), and 200-299 are Graph's permission codes."""
    rule = TABLE.get(code)
    if rule is not None:
        return rule
    if 200 <= code <= 299:
        return ErrorRule(code, "API permission not granted or removed", PAUSE_CHANNEL,
                         15 * MINUTE, tell_operator=True, source=GRAPH)  # fmt: skip
    if http_status == 429 or http_status >= 500:
        return ErrorRule(code, f"HTTP {http_status}", RETRY, 5.0, source="HTTP status")
    return ErrorRule(code, f"HTTP {http_status}", FAIL, source="HTTP status")
