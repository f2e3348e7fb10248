"""Moved to `shelfwatch.http.outbound`; this alias goes once nothing imports it here."""

import sys

from shelfwatch.http import outbound

sys.modules[__name__] = outbound
