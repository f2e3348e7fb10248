"""Open Food Facts: barcode lookups through their API and catalog imports of their dumps.

`client` speaks the product API, `records` turns their records into catalog products,
`dumps` reads the JSONL dump and the CSV export as streams, `jobs` runs a dump as an
import job and `lookup` answers one barcode. See docs/openfoodfacts.md.
"""

SOURCE = "openfoodfacts"
