"""Consent decisions: recording grants and revocations, and reading expiry."""

from __future__ import annotations

from kith.domain.consent import ConsentType, apply_consent_update, effective_consents
from kith.domain.profile import new_profile

NOW = "2026-11-29T10:00:00.000000Z"
TYPES = {
    "marketing": ConsentType(id="marketing", auto_expiry_days=30),
    "terms": ConsentType(id="terms", revokable=False),
    "analytics": ConsentType(id="analytics", default=True),
}


def test_grants_expire_after_the_configured_days() -> None:
    profile = new_profile("p", NOW)
    changed, warnings = apply_consent_update(profile, {"granted": ["Marketing"]}, TYPES, NOW)
    assert changed == ["consents.marketing"] and warnings == []
    decision = profile["consents"]["marketing"]
    assert decision == {"granted": True, "time": NOW, "expires": "2026-12-29T10:00:00.000000Z"}
    assert effective_consents(profile, "2026-12-01T00:00:00Z")["marketing"]["granted"] is True
    later = effective_consents(profile, "2026-12-29T10:00:01Z")["marketing"]
    assert later["granted"] is False and later["expired"] is True


def test_revocations_and_non_revokable_types() -> None:
    profile = new_profile("p", NOW)
    apply_consent_update(profile, {"granted": ["terms", "marketing"]}, TYPES, NOW)
    changed, warnings = apply_consent_update(
        profile, {"revoked": ["terms", "marketing"]}, TYPES, NOW
    )
    assert changed == ["consents.marketing"]
    assert warnings == ["consent 'terms' is not revokable"]
    assert profile["consents"]["terms"]["granted"] is True
    assert profile["consents"]["marketing"] == {"granted": False, "time": NOW, "expires": None}


def test_undefined_types_are_recorded_and_defaults_read_through() -> None:
    profile = new_profile("p", NOW)
    apply_consent_update(profile, {"granted": "newsletter"}, TYPES, NOW)
    seen = effective_consents(profile, NOW, TYPES)
    assert seen["newsletter"]["granted"] is True
    assert seen["analytics"] == {"granted": True, "time": None, "expires": None}
    assert "marketing" not in seen
