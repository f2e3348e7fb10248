"""The shopping assistant: answers shoppers from our own reads (search, stock, prices,
recommendations, the caller's orders and points, back-in-stock alerts), with a language
model when one is configured and a rule-based parser otherwise (see docs/assistant.md)."""
