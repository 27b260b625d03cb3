"""The overview's server-side filters over the roll-up, and the environment page's per-object
status and drift from the runner's status report."""

from __future__ import annotations

import re

from contract.status import ObjectStatus, Outcome
from tests.integration.portal.harness import PortalWorld
from tests.integration.telemetry.records import exchange

ENV = "/projects/shop/environments/prod"


def _report(world: PortalWorld, objects: list[ObjectStatus], drifted: list[str]) -> None:
    desired = world.core.store.desired
    digest = desired.history_of(world.core.project.id, "prod")[0].digest
    assert desired.report_status(
        "acme", "shop", "prod", digest, state="OutOfSync/Degraded", detail="",
        objects=objects, drifted=drifted,
    )  # fmt: skip


async def test_overview_filters_by_sync_and_runner_on_the_server(world: PortalWorld) -> None:
    viewer = await world.login("victor")
    store = world.core.store
    _, synced = await viewer.get("/?sync=Synced")
    assert synced.count('href="/projects/shop/environments/') == 2
    _, none = await viewer.get("/?sync=NotDeployed")
    assert "No environment matches." in none
    _, offline = await viewer.get("/?runner=offline")
    assert offline.count('href="/projects/shop/environments/') == 2
    prod = store.desired.environment(world.core.project.id, "prod")
    assert prod is not None
    store.accounts.register_runner(world.core.org_id, prod.runner)
    with store.state.transaction() as db:  # what the runner's heartbeat writes
        db.execute(
            "UPDATE runners SET last_seen_at = ? WHERE name = ?",
            (store.state.clock(), prod.runner),
        )
    _, online = await viewer.get("/?runner=online")
    runners = {e.runner for e in store.desired.environments(world.core.project.id)}
    expected = 2 if runners == {prod.runner} else 1
    assert online.count('href="/projects/shop/environments/') == expected
    assert "/projects/shop/environments/prod" in online
    # the next-page link keeps the filters
    _, first = await viewer.get("/?sync=Synced&runner=online")
    assert 'name="sync"' in first
    assert '<option value="Synced" selected>' in first


async def test_environment_lists_objects_problems_first_with_drift(world: PortalWorld) -> None:
    viewer = await world.login("victor")
    _, before = await viewer.get(ENV)
    assert "has not sent a per-object report yet" in before
    objects = [
        ObjectStatus(key="apps/Deployment/shop-prod/orders", outcome=Outcome.UNCHANGED),
        ObjectStatus(
            key="networking.k8s.io/Ingress/shop-prod/orders",
            outcome=Outcome.FAILED,
            message="admission webhook denied <script>x</script>",
        ),
        ObjectStatus(key="v1/ConfigMap/shop-prod/orders", outcome=Outcome.CONFIGURED),
    ]
    _report(world, objects, ["apps/Deployment/shop-prod/orders", "v1/Secret/shop-prod/gone"])
    status, page = await viewer.get(ENV)
    assert status == 200
    assert "4 objects, 1 refused, 2 drifted" in page
    section = page[page.index("<h2>Objects</h2>") : page.index("<h2>History</h2>")]
    order = [section.index(key) for key in (
        "Ingress/shop-prod/orders", "apps/Deployment/shop-prod/orders",
        "v1/Secret/shop-prod/gone", "v1/ConfigMap/shop-prod/orders")]  # fmt: skip
    assert order == sorted(order)  # refused, then drifted, then the rest
    assert "&lt;script&gt;x&lt;/script&gt;" in section
    assert "<script>x" not in page
    # the next report replaces the last one whole
    _report(world, objects[:1], [])
    _, after = await viewer.get(ENV)
    assert "1 objects, 0 refused, 0 drifted" in after
    assert "Ingress/shop-prod/orders" not in after


async def test_another_orgs_environment_objects_stay_hidden(world: PortalWorld) -> None:
    _report(world, [ObjectStatus(key="v1/ConfigMap/x/secret-name", outcome=Outcome.CREATED)], [])
    mallory = await world.login("mallory")
    status, page = await mallory.get(ENV)
    assert status == 404
    assert "secret-name" not in page


async def test_failed_messages_are_those_of_the_project_not_of_a_namesake(
    world: PortalWorld,
) -> None:
    world.add_exchanges([exchange(1, failed=True)])
    # another project of the same org with an environment also called prod
    world.add_exchanges([exchange(2, failed=True)], project="billing")
    viewer = await world.login("victor")
    status, page = await viewer.get(f"{ENV}/failures")
    assert status == 200
    assert "EX-00000001" in page
    assert "EX-00000002" not in page


async def test_list_links_carry_the_exchange_place_and_open_its_detail(
    world: PortalWorld,
) -> None:
    world.add_exchanges([exchange(1, failed=True)])
    viewer = await world.login("victor")
    for listing in ("/traces?integration=orders", f"{ENV}/failures"):
        _, page = await viewer.get(listing)
        link = re.search(r'href="(/traces/EX-00000001\?[^"]+)"', page)
        assert link is not None, listing
        assert "integration=orders" in link.group(1)
        assert re.search(r"[?&;]at=\d{13}", link.group(1).replace("&amp;", "&"))
        status, detail = await viewer.get(link.group(1).replace("&amp;", "&"))
        assert status == 200
        assert "stock service down" in detail
    # a forged place is only a slower way to the same page
    status, forged = await viewer.get("/traces/EX-00000001?integration=other&at=123")
    assert status == 200
    assert "stock service down" in forged
