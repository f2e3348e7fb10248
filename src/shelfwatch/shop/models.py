"""Models of the shop app."""
