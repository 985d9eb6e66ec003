"""PUT /track batches: which payloads must run in order, and which may run together."""

from __future__ import annotations

from kith.domain.external_identity import ExternalIdentity
from kith.domain.payload import Ref, SourceRef, TrackerPayload
from kith.tracking.track import chains, keys_of


def keys(*pairs: tuple[str | None, str | None]) -> list[list[tuple[str, str]]]:
    """The chain keys of payloads naming (session id, profile id)."""
    return [
        keys_of(
            TrackerPayload(
                source=SourceRef("s"),
                session=Ref(session) if session else None,
                profile=Ref(profile) if profile else None,
            ),
            None,
        )
        for session, profile in pairs
    ]


def test_unrelated_payloads_each_form_their_own_chain() -> None:
    assert chains(keys(("s1", None), ("s2", None), (None, None), (None, "p1"))) == [
        [0],
        [1],
        [2],
        [3],
    ]


def test_a_shared_session_or_profile_keeps_batch_order() -> None:
    pairs = keys(("s1", None), ("s2", "p1"), ("s1", "p9"), ("s3", "p1"), ("s4", None))
    assert sorted(chains(pairs)) == [[0, 2], [1, 3], [4]]


def testchains_join_through_a_payload_naming_both() -> None:
    pairs = keys(("a", None), ("b", None), ("a", "p"), ("b", "p"), ("c", None))
    assert sorted(chains(pairs)) == [[0, 1, 2, 3], [4]]


def test_people_known_by_external_ids_chain_through_any_shared_id() -> None:
    anonymous = ExternalIdentity.of(None, "a1")
    identified = ExternalIdentity.of("u1", "a1")
    server_side = ExternalIdentity.of("u1", None)
    stranger = ExternalIdentity.of("u2", None)
    payload = TrackerPayload(source=SourceRef("s"))
    people = [anonymous, stranger, server_side, identified]
    chained = chains([keys_of(payload, person) for person in people])
    assert sorted(chained) == [[0, 2, 3], [1]]
