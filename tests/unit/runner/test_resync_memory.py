"""What a no-change resync may skip: decoding a LIST whose items are the bytes it decoded last
time, hashing an object at a resourceVersion already fingerprinted, sorting the inventory by
the dataclass's comparisons, and rewriting an unchanged inventory into SQLite."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from runner.drivers.kubernetes.live import Fingerprints, ListAnswers, fingerprint
from runner.objects import ObjectRef, in_order
from runner.store import RunnerStore

PATH = "/api/v1/namespaces/shop/configmaps"


def listing(list_version: str, *items: dict[str, Any]) -> bytes:
    """A LIST answer as kube-apiserver writes it: the list's metadata, then the items."""
    return json.dumps(
        {"kind": "ConfigMapList", "apiVersion": "v1",
         "metadata": {"resourceVersion": list_version}, "items": list(items)},
        separators=(",", ":"),
    ).encode()  # fmt: skip


def cm(name: str, version: str, value: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "shop", "resourceVersion": version},
            "data": {"k": value}}  # fmt: skip


def test_a_list_with_the_same_items_is_not_decoded_again() -> None:
    answers = ListAnswers()
    decode = answers.decoder(PATH)
    first = decode(listing("100", cm("a", "7"), cm("b", "8")))
    # the cluster moved on elsewhere (the list's resourceVersion), these items did not
    again = decode(listing("250", cm("a", "7"), cm("b", "8")))
    assert again is first
    assert [i["metadata"]["name"] for i in again["items"]] == ["a", "b"]


def test_a_changed_item_is_decoded_and_seen() -> None:
    answers = ListAnswers()
    decode = answers.decoder(PATH)
    first = decode(listing("100", cm("a", "7"), cm("b", "8")))
    edited = decode(listing("101", cm("a", "7"), cm("b", "9", value="hacked")))
    assert edited is not first
    assert edited["items"][1]["data"] == {"k": "hacked"}
    gone = decode(listing("102", cm("a", "7")))
    assert [i["metadata"]["name"] for i in gone["items"]] == ["a"]
    # another collection with the very same bytes is its own entry
    other = answers.decoder("/api/v1/namespaces/other/configmaps")(listing("102", cm("a", "7")))
    assert other is not gone
    assert other == gone


def test_the_least_recently_listed_collection_is_forgotten_first() -> None:
    answers = ListAnswers(keep=2)
    body = listing("1", cm("a", "7"))
    first = {path: answers.decoder(path)(body) for path in ("/a", "/b")}
    assert answers.decoder("/a")(body) is first["/a"]  # /a listed again: /b is the oldest
    answers.decoder("/c")(body)
    assert answers.decoder("/a")(body) is first["/a"]
    assert answers.decoder("/b")(body) is not first["/b"]  # forgotten, decoded anew


def test_an_answer_without_items_is_decoded_as_it_is() -> None:
    decode = ListAnswers().decoder(PATH)
    assert decode(b'{"kind":"Status","code":200}') == {"kind": "Status", "code": 200}


def managed(fields: dict[str, Any], **meta: Any) -> dict[str, Any]:
    base = {"uid": "u1", "resourceVersion": "10", "generation": 2, "managedFields": [
        {"manager": "camelops", "operation": "Apply", "fieldsV1": fields}]}  # fmt: skip
    return {"kind": "ConfigMap", "metadata": {**base, **meta}}


def test_a_fingerprint_is_remembered_by_uid_and_resource_version() -> None:
    prints = Fingerprints("camelops")
    ours = managed({"f:data": {"f:k": {}}})
    assert prints.of("cm/a", ours) == fingerprint(ours, "camelops")
    # a stored object at the same resourceVersion is the same object: not hashed again
    same_version = managed({"f:data": {}})
    assert prints.of("cm/a", same_version) == fingerprint(ours, "camelops")
    # any write moves the resourceVersion; a re-created object has another uid
    taken_over = managed({"f:data": {}}, resourceVersion="11")
    assert prints.of("cm/a", taken_over) == fingerprint(taken_over, "camelops")
    assert prints.of("cm/a", taken_over) != fingerprint(ours, "camelops")
    recreated = managed({"f:data": {}}, uid="u2", resourceVersion="11")
    assert prints.of("cm/a", recreated) == fingerprint(recreated, "camelops")
    assert prints.of("cm/a", None) == ""
    # each object has its own memory; a forgotten one is hashed again
    assert prints.of("cm/b", ours) == fingerprint(ours, "camelops")
    prints.forget("cm/b")
    assert prints.of("cm/b", same_version) == fingerprint(same_version, "camelops")


def test_in_order_sorts_like_the_dataclass() -> None:
    rng = random.Random(7)
    words = ["", "apps", "v1", "a", "b", "Deployment", "ConfigMap", "ns-1", "ns-2"]
    refs = [ObjectRef(*(rng.choice(words) for _ in range(5))) for _ in range(500)]
    assert in_order(refs + refs[:50]) == sorted(set(refs))


def test_an_unchanged_inventory_is_not_written_again(tmp_path: Path) -> None:
    ticks = iter(range(1, 100))
    store = RunnerStore(tmp_path / "runner.db", clock=lambda: float(next(ticks)))

    def written_at() -> float:
        row = store._db.execute("SELECT at FROM inventory WHERE env = 'shop/dev'").fetchone()
        return float(row[0])

    refs = [ObjectRef("", "v1", "ConfigMap", "shop", n) for n in ("b", "a")]
    store.save_inventory("shop/dev", refs)
    first = written_at()
    store.save_inventory("shop/dev", list(reversed(refs)))  # the same set
    assert written_at() == first
    more = [*refs, ObjectRef("apps", "v1", "Deployment", "shop", "a")]
    store.save_inventory("shop/dev", more)
    assert written_at() > first
    assert store.inventory("shop/dev") == tuple(sorted(more))
    store.close()
    reopened = RunnerStore(tmp_path / "runner.db")  # a restarted runner writes it once
    reopened.save_inventory("shop/dev", refs)
    assert reopened.inventory("shop/dev") == tuple(sorted(refs))
    reopened.close()
