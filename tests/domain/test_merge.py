"""Profile merging: the oldest survives, and no input value disappears unnoticed."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.domain.merge import MergeOutcome, choose_survivor, merge_profiles
from kith.domain.profile import Document, new_profile

NOW = "2026-03-01T12:00:00.000000Z"
T1 = "2026-01-01T10:00:00.000000Z"
T2 = "2026-01-02T10:00:00.000000Z"
T3 = "2026-01-03T10:00:00.000000Z"
T4 = "2026-01-04T10:00:00.000000Z"


def profile(pid: str, created: str, **extra: Any) -> Document:
    """A `new_profile` with the merge extras, overridden key by key (nested dicts merge)."""
    doc = new_profile(pid, created)
    doc["metadata"]["fields"] = {}
    _deep_update(doc, extra)
    return doc


def _deep_update(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def logged(*paths: str, at: str) -> dict[str, Any]:
    """A field change log saying every path last changed at `at`."""
    return {"metadata": {"fields": {p: {"time": at, "event": f"ev-{at}"} for p in paths}}}


def conflicts(outcome: MergeOutcome) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = outcome.profile["aux"].get("merge_conflicts", {})
    return found


# -- survivor ------------------------------------------------------------------------


def test_survivor_is_oldest_and_ties_go_to_smaller_id() -> None:
    old, young = profile("p-b", T1), profile("p-a", T2)
    assert choose_survivor([young, old]) is old
    twin_a, twin_b = profile("p-a", T1), profile("p-b", T1)
    assert choose_survivor([twin_b, twin_a]) is twin_a


def test_survivor_compares_times_not_strings() -> None:
    # 10:00+02:00 is 08:00Z: earlier, although it sorts later as text.
    east = profile("p-z", "2026-01-01T10:00:00+02:00")
    utc = profile("p-a", "2026-01-01T09:00:00Z")
    assert choose_survivor([utc, east]) is east


def test_empty_input_is_an_error() -> None:
    with pytest.raises(ValueError):
        merge_profiles([], NOW)
    with pytest.raises(ValueError):
        choose_survivor([])


# -- the scenarios -------------------------------------------------------------------


def test_two_devices_one_email_keep_both_profiles_data() -> None:
    email = {"contact": {"email": {"main": "ann@example.com"}}}
    laptop = profile("laptop", T1, data={**email, "devices": {"laptop": {"os": "linux"}}})
    phone = profile(
        "phone",
        T2,
        data={**email, "pii": {"firstname": "Ann", "lastname": "Lee"}},
        **logged("data.pii.firstname", "data.pii.lastname", at=T2),
    )

    outcome = merge_profiles([phone, laptop], NOW)

    merged = outcome.profile
    assert merged["id"] == "laptop"
    assert outcome.merged_ids == ["phone"]
    assert merged["ids"] == ["laptop", "phone"]
    assert merged["data"]["contact"]["email"] == {"main": "ann@example.com"}
    assert merged["data"]["pii"] == {"firstname": "Ann", "lastname": "Lee"}
    assert merged["data"]["devices"] == {"laptop": {"os": "linux"}}
    assert merged["metadata"]["fields"]["data.pii.firstname"]["time"] == T2
    assert conflicts(outcome) == {}  # same e-mail on both: agreement, not a conflict


@pytest.mark.parametrize(
    ("survivor_changed", "other_changed", "winner", "loser", "loser_time"),
    [
        (T1, T2, "Anna", "Ann", T1),  # the other profile's change is newer
        (T3, T2, "Ann", "Anna", T2),  # the survivor's change is newer
        (T2, T2, "Ann", "Anna", T2),  # a tie goes to the survivor
        (None, T2, "Anna", "Ann", None),  # no log entry counts as oldest
    ],
)
def test_conflicting_first_names_are_decided_by_the_field_log(
    survivor_changed: str | None,
    other_changed: str,
    winner: str,
    loser: str,
    loser_time: str | None,
) -> None:
    path = "data.pii.firstname"
    old = profile("old", T1, data={"pii": {"firstname": "Ann"}})
    if survivor_changed:
        _deep_update(old, logged(path, at=survivor_changed))
    new = profile("new", T2, data={"pii": {"firstname": "Anna"}}, **logged(path, at=other_changed))
    loser_id = "old" if loser == "Ann" else "new"

    outcome = merge_profiles([new, old], NOW)

    assert outcome.profile["data"]["pii"]["firstname"] == winner
    assert conflicts(outcome) == {path: [{"value": loser, "profile": loser_id, "time": loser_time}]}


def test_no_log_on_either_side_keeps_the_survivors_value() -> None:
    old = profile("old", T1, traits={"plan": "gold"})
    new = profile("new", T2, traits={"plan": "silver"})
    outcome = merge_profiles([new, old], NOW)
    assert outcome.profile["traits"]["plan"] == "gold"
    assert conflicts(outcome)["traits.plan"] == [
        {"value": "silver", "profile": "new", "time": None}
    ]


def test_a_null_never_beats_a_value() -> None:
    old = profile(
        "old", T1, data={"pii": {"firstname": None}}, **logged("data.pii.firstname", at=T4)
    )
    new = profile("new", T2, data={"pii": {"firstname": "Ann"}})
    outcome = merge_profiles([old, new], NOW)
    assert outcome.profile["data"]["pii"]["firstname"] == "Ann"
    assert conflicts(outcome) == {}


def test_bool_and_number_are_not_equal_values() -> None:
    old = profile("old", T1, traits={"flag": True})
    new = profile("new", T2, traits={"flag": 1})
    outcome = merge_profiles([old, new], NOW)
    assert outcome.profile["traits"]["flag"] is True
    assert conflicts(outcome)["traits.flag"] == [{"value": 1, "profile": "new", "time": None}]


def test_a_dict_against_a_scalar_keeps_the_loser_whole() -> None:
    old = profile("old", T1, traits={"address": "Main St 1"})
    new = profile(
        "new",
        T2,
        traits={"address": {"street": "Main St", "no": 1}},
        **logged("traits.address", at=T3),
    )
    outcome = merge_profiles([old, new], NOW)
    assert outcome.profile["traits"]["address"] == {"street": "Main St", "no": 1}
    assert conflicts(outcome)["traits.address"][0]["value"] == "Main St 1"


def test_counts_and_amounts_add_up() -> None:
    old = profile(
        "old",
        T1,
        stats={"visits": 2, "views": 10, "counters": {"clicks": 3, "shares": 1}},
        data={"metrics": {"ltv": 100, "orders": 1, "last_order": T1}},
        interests={"shoes": 2, "hats": 0.5},
    )
    new = profile(
        "new",
        T2,
        stats={"visits": 3, "views": 5, "counters": {"clicks": 4, "likes": 7}},
        data={"metrics": {"ltv": 49.5, "orders": 2, "last_order": T3}},
        interests={"shoes": 1, "bags": 4},
        **logged("data.metrics.last_order", at=T3),
    )
    merged = merge_profiles([old, new], NOW).profile

    assert merged["stats"] == {
        "visits": 5,
        "views": 15,
        "counters": {"clicks": 7, "shares": 1, "likes": 7},
    }
    assert merged["data"]["metrics"]["ltv"] == 149.5
    orders = merged["data"]["metrics"]["orders"]
    assert orders == 3
    assert type(orders) is int
    assert type(merged["stats"]["visits"]) is int
    assert merged["interests"] == {"shoes": 3, "hats": 0.5, "bags": 4}
    # not a number: the scalar rule, decided by the field log
    assert merged["data"]["metrics"]["last_order"] == T3
    assert merged["aux"]["merge_conflicts"]["data.metrics.last_order"] == [
        {"value": T1, "profile": "old", "time": None}
    ]


def test_numbers_outside_the_additive_areas_do_not_add() -> None:
    old = profile("old", T1, traits={"age": 30}, data={"loyalty": {"points": 5}})
    new = profile("new", T2, traits={"age": 30}, data={"loyalty": {"points": 7}})
    outcome = merge_profiles([old, new], NOW)
    assert outcome.profile["traits"]["age"] == 30
    assert outcome.profile["data"]["loyalty"]["points"] == 5
    assert conflicts(outcome)["data.loyalty.points"] == [
        {"value": 7, "profile": "new", "time": None}
    ]


def test_visit_times_count_current_last_and_tz() -> None:
    visit = {"last": T1, "current": T2, "count": 2, "tz": "Europe/Warsaw"}
    old = profile("old", T1, metadata={"time": {"visit": visit}})
    new = profile(
        "new", T2, metadata={"time": {"visit": {"last": T3, "current": T4, "count": 3, "tz": None}}}
    )
    third = profile(
        "third", T3, metadata={"time": {"visit": {"last": None, "current": None, "count": 0}}}
    )

    got = merge_profiles([old, new, third], NOW).profile["metadata"]["time"]["visit"]

    # current from `new`, which has no tz: fall back to a non-null one
    assert got == {"last": T3, "current": T4, "count": 5, "tz": "Europe/Warsaw"}


def test_visit_last_comes_from_the_other_profiles_current() -> None:
    old = profile(
        "old", T1, metadata={"time": {"visit": {"last": T1, "current": T3, "count": 1, "tz": "A"}}}
    )
    new = profile(
        "new",
        T2,
        metadata={"time": {"visit": {"last": None, "current": T4, "count": 1, "tz": "B"}}},
    )
    got = merge_profiles([old, new], NOW).profile["metadata"]["time"]["visit"]
    assert got == {"last": T3, "current": T4, "count": 2, "tz": "B"}


def test_visit_times_of_unvisited_profiles_stay_null() -> None:
    got = merge_profiles([profile("a", T1), profile("b", T2)], NOW).profile
    assert got["metadata"]["time"]["visit"] == {
        "last": None,
        "current": None,
        "count": 0,
        "tz": None,
    }


def test_earliest_create_and_insert_and_update_is_now() -> None:
    old = profile("old", T2)
    old["metadata"]["time"]["insert"] = T3
    new = profile("new", T3)
    new["metadata"]["time"]["insert"] = T1  # imported later with an earlier insert
    times = merge_profiles([new, old], NOW).profile["metadata"]["time"]
    assert (times["create"], times["insert"], times["update"]) == (T2, T1, NOW)


def test_ids_union_survivor_first_no_duplicates() -> None:
    old = profile("old", T1, ids=["old", "legacy-1", "shared"])
    new = profile("new", T2, ids=["shared", "new", "legacy-2"])
    other = profile("other", T3, ids=[])  # its own id must still resolve
    outcome = merge_profiles([other, new, old], NOW)
    assert outcome.profile["id"] == "old"
    assert outcome.profile["ids"] == ["old", "legacy-1", "shared", "other", "new", "legacy-2"]
    assert outcome.merged_ids == ["other", "new"]


def test_consents_take_the_latest_decision_per_type() -> None:
    old = profile(
        "old",
        T1,
        consents={
            "marketing": {"granted": True, "time": T3, "expires": None},
            "analytics": {"granted": True, "time": T1, "expires": T4},
        },
    )
    new = profile(
        "new",
        T2,
        consents={
            "marketing": {"granted": False, "time": T2, "expires": None},
            "analytics": {"granted": False, "time": T2, "expires": None},
            "email": {"granted": True, "time": T2, "expires": None},
        },
    )
    outcome = merge_profiles([new, old], NOW)
    assert outcome.profile["consents"] == {
        "marketing": {"granted": True, "time": T3, "expires": None},
        "analytics": {"granted": False, "time": T2, "expires": None},
        "email": {"granted": True, "time": T2, "expires": None},
    }
    assert conflicts(outcome) == {}  # older decisions are history, not conflicts


def test_field_log_keeps_the_latest_entry_per_path() -> None:
    old = profile("old", T1, metadata={"fields": {"a": {"time": T3, "event": "e1"}}})
    new = profile(
        "new",
        T2,
        metadata={"fields": {"a": {"time": T2, "event": "e2"}, "b": {"time": T1, "event": "e3"}}},
    )
    fields = merge_profiles([old, new], NOW).profile["metadata"]["fields"]
    assert fields == {"a": {"time": T3, "event": "e1"}, "b": {"time": T1, "event": "e3"}}


def test_segments_and_other_lists_unite_in_order() -> None:
    old = profile(
        "old", T1, segments=["vip", "buyer"], traits={"tags": [{"k": 1}, "x"], "sizes": [42, 42]}
    )
    new = profile(
        "new", T2, segments=["buyer", "churn-risk"], traits={"tags": ["x", {"k": 1}, {"k": 2}]}
    )
    merged = merge_profiles([new, old], NOW).profile
    assert merged["segments"] == ["vip", "buyer", "churn-risk"]
    assert merged["traits"]["tags"] == [{"k": 1}, "x", {"k": 2}]
    assert merged["traits"]["sizes"] == [42, 42]


def test_active_if_any_is_active() -> None:
    old = profile("old", T1, active=False)
    new = profile("new", T2, active=True)
    assert merge_profiles([old, new], NOW).profile["active"] is True
    assert merge_profiles([old, profile("x", T3, active=False)], NOW).profile["active"] is False


def test_existing_merge_conflicts_are_concatenated_then_extended() -> None:
    earlier_a = {"value": "Bob", "profile": "gone-1", "time": None}
    earlier_b = {"value": "Rob", "profile": "gone-2", "time": T1}
    old = profile(
        "old",
        T1,
        traits={"nick": "A"},
        aux={"merge_conflicts": {"traits.nick": [earlier_a]}, "note": "x"},
    )
    new = profile(
        "new",
        T2,
        traits={"nick": "B"},
        aux={"merge_conflicts": {"traits.nick": [earlier_b], "traits.x": [earlier_a]}, "note": "x"},
    )
    merged = merge_profiles([new, old], NOW).profile
    assert merged["aux"] == {
        "merge_conflicts": {
            "traits.nick": [earlier_a, earlier_b, {"value": "B", "profile": "new", "time": None}],
            "traits.x": [earlier_a],
        },
        "note": "x",
    }


def test_three_way_merge() -> None:
    first = profile(
        "c-first",
        T2,
        data={"pii": {"firstname": "Ann"}, "metrics": {"ltv": 10}},
        stats={"visits": 1},
        segments=["a"],
        **logged("data.pii.firstname", at=T2),
    )
    oldest = profile(
        "b-oldest",
        T1,
        data={"pii": {"firstname": "Anne"}, "metrics": {"ltv": 20}},
        stats={"visits": 2},
        segments=["b"],
        **logged("data.pii.firstname", at=T1),
    )
    last = profile(
        "a-last",
        T3,
        data={"pii": {"firstname": "Anna", "lastname": "Lee"}, "metrics": {"ltv": 30}},
        stats={"visits": 3},
        segments=["a", "c"],
        **logged("data.pii.firstname", at=T4),
    )

    outcome = merge_profiles([first, oldest, last], NOW)
    merged = outcome.profile

    assert merged["id"] == "b-oldest"
    assert outcome.merged_ids == ["c-first", "a-last"]
    assert merged["ids"] == ["b-oldest", "c-first", "a-last"]
    assert merged["data"]["pii"] == {"firstname": "Anna", "lastname": "Lee"}
    assert merged["data"]["metrics"]["ltv"] == 60
    assert merged["stats"]["visits"] == 6
    assert merged["segments"] == ["b", "a", "c"]
    assert merged["metadata"]["time"]["create"] == T1
    assert conflicts(outcome) == {
        "data.pii.firstname": [
            {"value": "Ann", "profile": "c-first", "time": T2},
            {"value": "Anne", "profile": "b-oldest", "time": T1},
        ]
    }


def test_inputs_are_not_mutated_and_not_aliased() -> None:
    old = profile("old", T1, traits={"plan": "gold", "tags": ["a"]}, stats={"visits": 1})
    new = profile("new", T2, traits={"plan": "silver", "nested": {"k": [1]}}, stats={"visits": 2})
    before = copy.deepcopy([old, new])

    merged = merge_profiles([old, new], NOW).profile
    assert [old, new] == before

    merged["traits"]["tags"].append("b")
    merged["traits"]["nested"]["k"].append(2)
    merged["aux"]["merge_conflicts"]["traits.plan"][0]["value"] = "changed"
    assert [old, new] == before


def test_merge_is_deterministic() -> None:
    old = profile("old", T1, traits={"plan": "gold"}, segments=["x"])
    new = profile("new", T2, traits={"plan": "silver"}, segments=["y"])
    assert merge_profiles([old, new], NOW) == merge_profiles([old, new], NOW)


# -- property: nothing is lost -------------------------------------------------------

KEYS = ("a", "b", "c")
ADDITIVE = (("stats",), ("data", "metrics"), ("interests",))
TIMES = (T1, T2, T3)

# Small pools so that profiles collide often: same keys, equal and unequal values,
# and a dict, a list and a scalar meeting at one path.
scalars = st.none() | st.booleans() | st.integers(0, 3) | st.sampled_from(["x", "y", "z"])
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=6,
)
trees = st.dictionaries(st.sampled_from(KEYS), values, max_size=3)
counts = st.dictionaries(st.sampled_from(KEYS), st.integers(0, 5) | st.sampled_from(["x", "y"]))


@st.composite
def random_profiles(draw: st.DrawFn) -> list[Document]:
    n = draw(st.integers(2, 4))
    ids = draw(st.lists(st.sampled_from("pqrstu"), min_size=n, max_size=n, unique=True))
    docs: list[Document] = []
    for pid in ids:
        doc = profile(
            pid,
            draw(st.sampled_from(TIMES)),
            traits=draw(trees),
            data={"pii": draw(trees), "metrics": draw(counts)},
            stats={"visits": draw(st.integers(0, 5)), "counters": draw(counts)},
            interests=draw(counts),
            segments=draw(st.lists(st.sampled_from("ABCD"), max_size=3, unique=True)),
            aux=draw(trees),
        )
        if draw(st.booleans()):
            old = [{"value": draw(scalars), "profile": "gone", "time": None}]
            doc["aux"]["merge_conflicts"] = {"traits.a": old}
        # Log some of the paths the profile holds, with colliding times.
        for path, _ in leaves(doc):
            if draw(st.booleans()):
                at = draw(st.sampled_from(TIMES))
                doc["metadata"]["fields"][".".join(path)] = {"time": at, "event": "e"}
        docs.append(doc)
    return docs


def leaves(doc: Document) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Non-null leaves in the areas the generic rules govern; lists count as leaves."""

    def walk(path: tuple[str, ...], node: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
        if path[:2] == ("aux", "merge_conflicts"):
            return
        if isinstance(node, dict) and node:
            for key, value in node.items():
                yield from walk((*path, key), value)
        elif node is not None and node != {}:
            yield path, node

    for top in ("traits", "data", "stats", "interests", "segments", "aux"):
        yield from walk((top,), doc[top])


def at(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


_MISSING = object()


def same(a: Any, b: Any) -> bool:
    """JSON equality: True is not 1, and dicts and lists compare deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def holds(node: Any, path: tuple[str, ...], value: Any) -> bool:
    """`node` has `value` at `path`; a list holds a list if it has all its items, as often."""
    found = at(node, path)
    if found is _MISSING:
        return False
    if isinstance(value, list) and isinstance(found, list):
        return all(
            sum(same(item, other) for other in found) >= sum(same(item, x) for x in value)
            for item in value
        )
    return same(found, value)


def summed(inputs: list[Document], path: tuple[str, ...], result: Any) -> bool:
    """In an additive area, the result is exactly the sum of every input's number there."""
    if not any(path[: len(area)] == area and len(path) > len(area) for area in ADDITIVE):
        return False
    numbers = [at(doc, path) for doc in inputs]
    numbers = [n for n in numbers if n is not _MISSING and n is not None]
    if not all(type(n) is int for n in numbers):
        return False
    return same(at(result, path), sum(numbers))


@settings(max_examples=300, deadline=None)
@given(random_profiles())
def test_no_input_value_is_lost(docs: list[Document]) -> None:
    merged = merge_profiles(docs, NOW).profile
    recorded = merged["aux"].get("merge_conflicts", {})
    all_ids = {doc["id"] for doc in docs}

    for doc in docs:
        for path, value in leaves(doc):
            if holds(merged, path, value) or summed(docs, path, merged):
                continue
            # Else it lost a conflict, at its own path or (as part of a whole) above it.
            prefixes = [path[:i] for i in range(len(path), 0, -1)]
            assert any(
                holds(entry["value"], path[len(prefix) :], value) and entry["profile"] in all_ids
                for prefix in prefixes
                for entry in recorded.get(".".join(prefix), [])
            ), (path, value, doc["id"])

        for key, entries in doc["aux"].get("merge_conflicts", {}).items():
            assert all(entry in recorded[key] for entry in entries)

    assert set(merged["ids"]) == all_ids
    assert len(merged["ids"]) == len(all_ids)


@settings(max_examples=100, deadline=None)
@given(random_profiles())
def test_survivor_and_scalar_winners_do_not_depend_on_input_order(docs: list[Document]) -> None:
    """The survivor is a property of the set; so is a scalar whose change is strictly newest."""
    results = [merge_profiles(list(order), NOW).profile for order in itertools.permutations(docs)]
    assert len({result["id"] for result in results}) == 1
    assert len({tuple(sorted(result["ids"])) for result in results}) == 1
    for parent in (("traits",), ("aux",), ("data", "pii")):
        for key in KEYS:
            path = (*parent, key)
            holders = [doc for doc in docs if at(doc, path) not in (_MISSING, None)]
            times = [
                doc["metadata"]["fields"].get(".".join(path), {}).get("time") for doc in holders
            ]
            newest = max((t for t in times if t), default=None)
            if newest is None or times.count(newest) != 1:
                continue
            expected = at(holders[times.index(newest)], path)
            if isinstance(expected, (dict, list)):
                continue  # dicts merge and lists unite rather than win
            assert all(same(at(result, path), expected) for result in results), path


@settings(max_examples=100, deadline=None)
@given(random_profiles())
def test_merge_never_mutates_its_inputs(docs: list[Document]) -> None:
    before = copy.deepcopy(docs)
    merge_profiles(docs, NOW)
    assert docs == before
