"""Consent types over HTTP, and consent-update events writing profile consents."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.helpers import assert_validation_error, get_json, get_profile, payload, track

Headers = dict[str, str]


def test_consent_type_crud(client: TestClient, admin: Headers) -> None:
    body = {"name": "Marketing e-mails", "revokable": True, "default": False,
            "auto_expiry_days": 365, "description": ""}  # fmt: skip
    response = client.put("/api/consent-types/Marketing", json=body, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {**body, "id": "marketing"}
    assert get_json(client, admin, "/api/consent-types") == [{**body, "id": "marketing"}]
    assert get_json(client, admin, "/api/consent-types/marketing")["auto_expiry_days"] == 365
    assert client.delete("/api/consent-types/marketing", headers=admin).status_code == 204
    assert client.get("/api/consent-types/marketing", headers=admin).status_code == 404
    assert client.delete("/api/consent-types/marketing", headers=admin).status_code == 404
    bad = client.put("/api/consent-types/x", json={"auto_expiry_days": 0}, headers=admin)
    assert_validation_error(bad, ["body", "auto_expiry_days"])


def test_consent_update_events(client: TestClient, admin: Headers, web_source: str) -> None:
    client.put("/api/consent-types/marketing", json={"auto_expiry_days": 30}, headers=admin)
    client.put("/api/consent-types/terms", json={"revokable": False}, headers=admin)
    client.put("/api/consent-types/analytics", json={"default": True}, headers=admin)
    granted = {"type": "consent-update", "properties": {"granted": ["marketing", "terms"]}}
    answer = track(client, payload(session="s1", events=[granted]))
    revoked = {"type": "consent-update", "properties": {"revoked": ["terms"]}}
    second = track(client, payload(session="s1", events=[revoked]))
    assert second["warnings"] == ["consent 'terms' is not revokable"]

    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None
    consents = profile["consents"]
    assert consents["marketing"]["granted"] is True
    assert consents["marketing"]["expires"] > consents["marketing"]["time"]
    assert consents["terms"]["granted"] is True and consents["terms"]["expires"] is None
    assert consents["analytics"]["granted"] is True  # the type's default
    assert profile["metadata"]["fields"]["consents.marketing"]["event"] == answer["events"][0]


def test_an_expired_consent_reads_as_not_granted(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    client.put("/api/consent-types/marketing", json={"auto_expiry_days": 1}, headers=admin)
    granted = {"type": "consent-update", "properties": {"granted": ["marketing"]},
               "time": {"create": "2020-01-01T00:00:00Z"}}  # fmt: skip
    answer = track(client, payload(events=[granted]))
    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None
    decision = profile["consents"]["marketing"]
    assert decision["granted"] is False and decision["expired"] is True
    assert decision["time"] == "2020-01-01T00:00:00.000000Z"
