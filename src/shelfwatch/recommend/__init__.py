"""Product recommendations: bought together, similar products, and for you."""
