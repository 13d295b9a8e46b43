"""Static files with a content hash in their names, also when DEBUG is on (`make run`'s embedded demo): Django's
manifest storage gives the plain names under DEBUG, which browsers must revalidate on every page."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def url(self, name: str | None, force: bool = False) -> str:
        return super().url(name, force=True)
