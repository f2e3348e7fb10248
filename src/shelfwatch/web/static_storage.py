"""How collected static files are named: with a content hash in a deployment."""

from __future__ import annotations

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage


class HashedStaticFiles(ManifestStaticFilesStorage):
    """`collectstatic` writes each file also under a name carrying its content hash, which a
    proxy or CDN may cache for a year; pages link those names. A file missing from the
    manifest (collectstatic not run yet) keeps its plain name: a forgotten step costs
    caching, never a page."""

    manifest_strict = False

    def stored_name(self, name: str) -> str:
        """The name with its content hash, or `name` unchanged when the file cannot be found."""
        try:
            return super().stored_name(name)
        except ValueError:
            return name
