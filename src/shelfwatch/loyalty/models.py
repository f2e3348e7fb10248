"""Models of the loyalty app."""
