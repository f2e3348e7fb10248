"""Reads of the shop, one module per subject: `orders`, `sales` (flash sales) and
`storefront` (stores, shelves and products as a shopper sees them)."""
