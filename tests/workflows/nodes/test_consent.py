"""has-consent and add-consent, with consent types' expiry and defaults."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2 as httpx
import pytest

from kith.domain.consent import ConsentType
from kith.workflows.services import NodeServices
from tests.workflows.nodes.flows import new_profile_doc, node, output, run_flow

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class Types:
    """Consent types as the cached registry gives them."""

    def __init__(self, *types: ConsentType) -> None:
        self.types = {kind.id: kind for kind in types}

    async def all(self) -> dict[str, ConsentType]:
        return self.types


async def branch(profile: dict[str, object] | None, consent: str, types: Types) -> str | None:
    async with httpx.AsyncClient() as client:
        services = NodeServices(storage=None, http=client, consent_types=types)  # type: ignore[arg-type]
        run = await run_flow(
            [node("has", "has-consent", {"consent": consent})],
            profile=profile,
            profileless=profile is None,
            services=services,
            now=NOW,
        )
    return output(run, "has")[0]


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        ({"granted": True, "time": "2025-05-01T00:00:00+00:00", "expires": None}, "true"),
        ({"granted": True, "time": "2025-05-01T00:00:00+00:00",
          "expires": "2025-07-01T00:00:00+00:00"}, "true"),
        ({"granted": True, "time": "2025-05-01T00:00:00+00:00",
          "expires": "2025-06-01T11:59:59+00:00"}, "false"),  # expired a second ago
        ({"granted": False, "time": "2025-05-01T00:00:00+00:00", "expires": None}, "false"),
    ],
)  # fmt: skip
async def test_has_consent_reads_grants_with_their_expiry(
    decision: dict[str, object], expected: str
) -> None:
    profile = new_profile_doc(consents={"marketing": decision})
    assert await branch(profile, "Marketing", Types()) == expected


async def test_has_consent_follows_type_defaults_until_the_profile_decides() -> None:
    types = Types(ConsentType(id="analytics", default=True), ConsentType(id="marketing"))
    assert await branch(new_profile_doc(consents={}), "analytics", types) == "true"
    assert await branch(new_profile_doc(consents={}), "marketing", types) == "false"
    refused = {"analytics": {"granted": False, "time": None, "expires": None}}
    assert await branch(new_profile_doc(consents=refused), "analytics", types) == "false"
    assert await branch(None, "analytics", types) == "false"


async def test_add_consent_grants_with_the_types_expiry() -> None:
    types = Types(ConsentType(id="newsletter", auto_expiry_days=30))
    profile = new_profile_doc(consents={"newsletter": {"granted": False}})
    async with httpx.AsyncClient() as client:
        services = NodeServices(storage=None, http=client, consent_types=types)  # type: ignore[arg-type]
        run = await run_flow(
            [node("add", "add-consent", {"consent": "newsletter"}),
             node("other", "add-consent", {"consent": "terms"}),
             node("has", "has-consent", {"consent": "newsletter"})],
            profile=profile,
            services=services,
            now=NOW,
        )  # fmt: skip
    assert run.errors == [] and run.profile_changed
    assert profile["consents"] == {
        "newsletter": {"granted": True, "time": "2025-06-01T12:00:00.000000Z",
                       "expires": "2025-07-01T12:00:00.000000Z"},
        "terms": {"granted": True, "time": "2025-06-01T12:00:00.000000Z", "expires": None},
    }  # fmt: skip
    assert output(run, "has")[0] == "true"


async def test_add_consent_without_a_profile_fails_the_node() -> None:
    run = await run_flow([node("add", "add-consent", {"consent": "terms"})], profileless=True)
    assert "no profile" in run.errors[0]["msg"]
