"""PUT /track batches: which payloads must run in order, and which may run together."""

from __future__ import annotations

from kith.tracking.track import chains


def test_unrelated_payloads_each_form_their_own_chain() -> None:
    assert chains([("s1", None), ("s2", None), (None, None), (None, "p1")]) == [
        [0], [1], [2], [3]
    ]  # fmt: skip


def test_a_shared_session_or_profile_keeps_batch_order() -> None:
    keys = [("s1", None), ("s2", "p1"), ("s1", "p9"), ("s3", "p1"), ("s4", None)]
    assert sorted(chains(keys)) == [[0, 2], [1, 3], [4]]


def testchains_join_through_a_payload_naming_both() -> None:
    keys = [("a", None), ("b", None), ("a", "p"), ("b", "p"), ("c", None)]
    assert sorted(chains(keys)) == [[0, 1, 2, 3], [4]]
