"""People, sessions, tokens and permissions enforced by the services, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rxledger.domain import errors
from rxledger.domain.clock import ManualClock
from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import catalog, identity, queries, stock
from rxledger.services.runtime import Runtime
from tests.builders import Network, build_network

PASSWORD = "correct horse battery"


@pytest.fixture
def net(rt: Runtime) -> Network:
    return build_network(rt)


def person(net: Network, name: str, *grants: Grant) -> Actor:
    identity.create_user(
        net.rt, net.actor, username=name, full_name=name.title(), password=PASSWORD, grants=grants
    )
    return identity.authenticate(net.rt, net.actor.organization_id, name, PASSWORD, "test")


def test_passwords_are_hashed_with_argon2_and_checked(net: Network) -> None:
    person(net, "tech", Grant(Role.TECHNICIAN, net.central.id))
    from sqlalchemy import select

    from rxledger.adapters import tables as t

    with net.rt.uow(read_only=True) as uow:
        stored = uow.connection.execute(select(t.users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    with pytest.raises(errors.Unauthenticated):
        identity.authenticate(net.rt, net.actor.organization_id, "tech", "wrong password!", "test")
    with pytest.raises(errors.Unauthenticated):
        identity.authenticate(net.rt, net.actor.organization_id, "nobody", PASSWORD, "test")


def test_short_passwords_and_bad_names_are_refused(net: Network) -> None:
    with pytest.raises(errors.ValidationFailed):
        identity.create_user(net.rt, net.actor, username="a", full_name="A", password="short")
    with pytest.raises(errors.ValidationFailed):
        identity.create_user(
            net.rt, net.actor, username="bad name", full_name="B", password=PASSWORD
        )


def test_repeated_failed_sign_ins_are_throttled(net: Network, clock: ManualClock) -> None:
    person(net, "tech", Grant(Role.TECHNICIAN, net.central.id))
    org = net.actor.organization_id
    for _ in range(5):
        with pytest.raises(errors.Unauthenticated):
            identity.authenticate(net.rt, org, "tech", "wrong password!", "10.0.0.9")
    # then even the right password is refused for the window
    with pytest.raises(errors.TooManyAttempts) as throttled:
        identity.authenticate(net.rt, org, "tech", PASSWORD, "10.0.0.9")
    assert throttled.value.details["retry_after_seconds"] > 0
    clock.advance(timedelta(minutes=16))
    assert identity.authenticate(net.rt, org, "tech", PASSWORD, "10.0.0.9").username == "tech"


def test_a_technician_works_only_at_the_granted_site(net: Network) -> None:
    item = net.item()
    net.receive(item, 10)
    net.receive(item, 10, site=net.retail)
    tech = person(net, "tech", Grant(Role.TECHNICIAN, net.central.id))
    # may dispense at central
    stock.dispense(
        net.rt,
        tech,
        stock.Dispense(net.central.id, net.central.storage.id, [stock.StockLine(item.id, 1)]),
    )
    # may not dispense, adjust or even read at retail
    with pytest.raises(errors.Forbidden):
        stock.dispense(
            net.rt,
            tech,
            stock.Dispense(net.retail.id, net.retail.storage.id, [stock.StockLine(item.id, 1)]),
        )
    with pytest.raises(errors.Forbidden):
        queries.stock_position(net.rt, tech, site_id=net.retail.id)
    assert {r.site_id for r in queries.stock_position(net.rt, tech)} == {net.central.id}
    assert [s.code for s in catalog.list_sites(net.rt, tech)] == ["CENTRAL"]
    # may not adjust or reverse even at central
    lot = catalog.find_lot(net.rt, net.actor, item.id, "L1")
    with pytest.raises(errors.Forbidden):
        stock.adjust(
            net.rt,
            tech,
            stock.Adjust(
                net.central.id,
                [stock.AdjustLine(item.id, net.central.storage.id, lot.id, "COUNT", counted=3)],
            ),
        )
    with pytest.raises(errors.Forbidden):
        identity.list_users(net.rt, tech)


def test_a_reversal_needs_the_permission_at_the_documents_site(net: Network) -> None:
    item = net.item()
    net.receive(item, 10)
    doc = net.dispense(item, 2)
    tech = person(net, "tech", Grant(Role.TECHNICIAN, net.central.id))
    other_pharmacist = person(net, "rph", Grant(Role.PHARMACIST, net.retail.id))
    with pytest.raises(errors.Forbidden):
        stock.reverse(net.rt, tech, stock.Reverse(doc.id))
    with pytest.raises(errors.Forbidden):
        stock.reverse(net.rt, other_pharmacist, stock.Reverse(doc.id))
    with pytest.raises(errors.Forbidden):
        queries.get_document(net.rt, other_pharmacist, doc.id)


def test_an_auditor_reads_everything_and_writes_nothing(net: Network) -> None:
    item = net.item()
    net.receive(item, 10)
    auditor = person(net, "audit", Grant(Role.AUDITOR, None))
    assert queries.balance(net.rt, auditor, item_id=item.id, site_id=net.central.id) == 10
    assert len(catalog.list_sites(net.rt, auditor)) == 2
    with pytest.raises(errors.Forbidden):
        stock.dispense(
            net.rt,
            auditor,
            stock.Dispense(net.central.id, net.central.storage.id, [stock.StockLine(item.id, 1)]),
        )
    with pytest.raises(errors.Forbidden):
        catalog.create_item(net.rt, auditor, catalog.NewItem(sku="X", name="X", base_unit="tablet"))


def test_sessions_expire_and_end(net: Network, clock: ManualClock) -> None:
    tech = person(net, "tech", Grant(Role.TECHNICIAN, net.central.id))
    token, info = identity.start_session(net.rt, tech, net.central.id)
    assert identity.session(net.rt, token).actor.username == "tech"
    assert info.csrf_token
    assert token not in info.csrf_token
    identity.end_session(net.rt, token)
    with pytest.raises(errors.Unauthenticated):
        identity.session(net.rt, token)
    token, _ = identity.start_session(net.rt, tech)
    clock.advance(timedelta(hours=12, seconds=1))
    with pytest.raises(errors.Unauthenticated):
        identity.session(net.rt, token)


def test_api_tokens_act_as_their_user_until_revoked(net: Network) -> None:
    tech = person(net, "tech", Grant(Role.TECHNICIAN, net.central.id))
    token, view = identity.create_token(net.rt, tech, "scanner 3")
    assert token.startswith(view.prefix)
    assert identity.token_actor(net.rt, token).username == "tech"
    assert [t.name for t in identity.list_tokens(net.rt, tech)] == ["scanner 3"]
    identity.revoke_token(net.rt, tech, view.id)
    with pytest.raises(errors.Unauthenticated):
        identity.token_actor(net.rt, token)


def test_deactivated_users_lose_sessions_and_tokens(net: Network) -> None:
    tech = person(net, "tech", Grant(Role.TECHNICIAN, net.central.id))
    session_token, _ = identity.start_session(net.rt, tech)
    api_token, _ = identity.create_token(net.rt, tech, "t")
    assert tech.user_id is not None
    identity.set_active(net.rt, net.actor, tech.user_id, False)
    with pytest.raises(errors.Unauthenticated):
        identity.session(net.rt, session_token)
    with pytest.raises(errors.Unauthenticated):
        identity.token_actor(net.rt, api_token)


def test_site_admins_cannot_grant_org_wide_roles(net: Network) -> None:
    site_admin = person(net, "siteadmin", Grant(Role.ADMIN, net.central.id))
    with pytest.raises(errors.Forbidden):
        identity.create_user(
            net.rt,
            site_admin,
            username="x1",
            full_name="X",
            password=PASSWORD,
            grants=[Grant(Role.AUDITOR, None)],
        )
    with pytest.raises(errors.Forbidden):
        identity.create_user(
            net.rt,
            site_admin,
            username="x2",
            full_name="X",
            password=PASSWORD,
            grants=[Grant(Role.TECHNICIAN, net.retail.id)],
        )
    created = identity.create_user(
        net.rt,
        site_admin,
        username="x3",
        full_name="X",
        password=PASSWORD,
        grants=[Grant(Role.TECHNICIAN, net.central.id)],
    )
    assert created.grants == (Grant(Role.TECHNICIAN, net.central.id),)


def test_console_actor_is_the_named_user_once_users_exist(net: Network) -> None:
    org = net.actor.organization_id
    assert identity.console_actor(net.rt, org, "root").sees_all_sites
    person(net, "tech", Grant(Role.TECHNICIAN, net.central.id))
    assert identity.console_actor(net.rt, org, "tech").roles_at(net.central.id) == {Role.TECHNICIAN}
    with pytest.raises(errors.Unauthenticated):
        identity.console_actor(net.rt, org, "root")


def test_an_org_wide_auditor_who_administers_one_site_cannot_grant_org_wide_roles(
    net: Network,
) -> None:
    # given a site administrator who is also an organization-wide auditor
    both = person(net, "both", Grant(Role.ADMIN, net.central.id), Grant(Role.AUDITOR, None))
    assert both.user_id is not None
    # when they try to make themselves organization-wide administrator, then it is refused
    with pytest.raises(errors.Forbidden):
        identity.grant_role(net.rt, both, both.user_id, Grant(Role.ADMIN, None))


def test_documents_of_another_site_are_refused_before_their_content_is_judged(net: Network) -> None:
    item = net.item()
    net.receive(item, 10)
    dispensed = net.dispense(item, 2)
    shipment = stock.ship_transfer(
        net.rt,
        net.actor,
        stock.ShipTransfer(
            net.central.id, net.central.storage.id, net.retail.id, [stock.StockLine(item.id, 1)]
        ),
    )
    outsider = person(net, "outsider", Grant(Role.MANAGER, net.retail.id))
    # a return to a location of the outsider's site, of a dispense at central: forbidden, not a
    # location or quantity complaint
    with pytest.raises(errors.Forbidden):
        stock.reverse_dispense(
            net.rt, outsider, stock.ReverseDispense(dispensed.id, net.retail.storage.id)
        )
    with pytest.raises(errors.Forbidden):
        stock.reverse(net.rt, outsider, stock.Reverse(dispensed.id))
    central_tech = person(net, "ctech", Grant(Role.TECHNICIAN, net.central.id))
    with pytest.raises(errors.Forbidden):
        stock.receive_transfer(
            net.rt, central_tech, stock.ReceiveTransfer(shipment.id, net.retail.storage.id)
        )


def test_only_user_managers_create_users_even_without_roles(net: Network) -> None:
    tech = person(net, "tech", Grant(Role.TECHNICIAN, net.central.id))
    with pytest.raises(errors.Forbidden):
        identity.create_user(net.rt, tech, username="newcomer", full_name="N", password=PASSWORD)
    assert "newcomer" not in {u.username for u in identity.list_users(net.rt, net.actor)}


def test_a_site_admin_manages_only_people_of_their_sites(net: Network) -> None:
    # given an admin of central, an org-wide admin, a retail technician and a central technician
    site_admin = person(net, "centraladmin", Grant(Role.ADMIN, net.central.id))
    org_admin = person(net, "orgadmin", Grant(Role.ADMIN, None))
    retail_tech = person(net, "retailtech", Grant(Role.TECHNICIAN, net.retail.id))
    central_tech = person(net, "centraltech", Grant(Role.TECHNICIAN, net.central.id))
    assert org_admin.user_id
    assert retail_tech.user_id
    assert central_tech.user_id
    # then the site admin cannot reset, deactivate or even read the others
    with pytest.raises(errors.Forbidden):
        identity.set_password(net.rt, site_admin, org_admin.user_id, "taken over passphrase")
    with pytest.raises(errors.Forbidden):
        identity.set_active(net.rt, site_admin, retail_tech.user_id, False)
    with pytest.raises(errors.Forbidden):
        identity.get_user(net.rt, site_admin, org_admin.user_id)
    # but manages the central technician
    identity.set_password(net.rt, site_admin, central_tech.user_id, "a brand new passphrase")
    assert {u.username for u in identity.list_users(net.rt, site_admin)} == {
        "centraladmin",
        "centraltech",
    }
    assert (
        identity.authenticate(net.rt, net.actor.organization_id, "orgadmin", PASSWORD, "t").username
        == "orgadmin"
    )
