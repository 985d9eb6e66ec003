"""Redirect links: `/redirect/{id}` stores an event and sends the browser on.

A redirect is a configuration document (kind `redirect`): `{"id", "url",
"event_type", "source", "properties"}`. Only `http` and `https` targets are
accepted, so a link can never become a `javascript:` or `data:` URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from kith.config_documents import ConfigDocuments
from kith.domain.document import Document
from kith.domain.errors import InvalidPayload, NotFound
from kith.services.sources import SourceRegistry

REDIRECT_KIND = "redirect"


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidPayload.at(["body", "url"], "Only http:// and https:// URLs", "value_error")
    return url.strip()


class RedirectService:
    def __init__(self, documents: ConfigDocuments, sources: SourceRegistry) -> None:
        self._documents = documents
        self._sources = sources

    async def all(self) -> list[Document]:
        return [doc for _, doc in sorted((await self._documents.all()).items())]

    async def get(self, redirect_id: str) -> Document:
        found = (await self._documents.all()).get(redirect_id)
        if found is None:
            raise NotFound(f"Redirect {redirect_id!r} not found")
        return found

    async def put(self, redirect_id: str, redirect: Document) -> Document:
        document = {**redirect, "id": redirect_id, "url": check_url(redirect["url"])}
        source = await self._sources.cached(document["source"])
        if source is None or not source.accepts("redirect"):
            raise InvalidPayload.at(
                ["body", "source"],
                f"No enabled source {document['source']!r} with the `redirect` bridge",
                "value_error",
            )
        await self._documents.put(redirect_id, document)
        return document

    async def delete(self, redirect_id: str) -> None:
        if not await self._documents.delete(redirect_id):
            raise NotFound(f"Redirect {redirect_id!r} not found")
