"""Moved to `shelfwatch.http.problems`; this alias goes once nothing imports it here."""

import sys

from shelfwatch.http import problems

sys.modules[__name__] = problems
