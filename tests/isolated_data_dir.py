"""A pytest plugin loaded before Django's settings (see pyproject's addopts): a bare `pytest`
run gets a fresh DATA_DIR, so it never touches ./var or collides with another run."""

import os
import tempfile

os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="shelfwatch-test-"))
