"""Moved to `shelfwatch.http.cursors`; this alias goes once nothing imports it here."""

import sys

from shelfwatch.http import cursors

sys.modules[__name__] = cursors
