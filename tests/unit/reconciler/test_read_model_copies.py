"""Read models built from store records by attribute: the API's JSON stays byte for byte what the
field-by-field copies gave."""

from __future__ import annotations

from reconciler.service.read_models import AuditEntry, BundleView
from reconciler.store.records import AuditRecord, BundleSummary


def test_bundle_view_of_a_summary() -> None:
    summary = BundleSummary(
        id=7, environment="prod", revision="9f2c", digest="sha256:ab", created_at=1.25
    )
    assert BundleView.of(summary).model_dump_json(by_alias=True) == (
        '{"id":7,"revision":"9f2c","digest":"sha256:ab","createdAt":1.25}'
    )


def test_audit_entry_of_a_record() -> None:
    record = AuditRecord(
        id=3,
        at=2.5,
        actor="ana",
        action="pin",
        project="shop",
        environment="prod",
        revision="9f2c",
        detail="pinned",
    )
    assert AuditEntry.of(record).model_dump_json(by_alias=True) == (
        '{"id":3,"at":2.5,"actor":"ana","action":"pin","project":"shop","environment":"prod",'
        '"revision":"9f2c","detail":"pinned"}'
    )
