"""The web application through HTTP, against a real SQLite database: sign-in and sessions, CSRF,
every stock form's confirm-then-post path, refusals, users and tokens, and the authorization
matrix of every form and page against every role and a user of another site."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from rxledger.domain.permissions import Actor, Grant, Role
from rxledger.services import catalog, identity, queries, stock
from tests.e2e.conftest import (
    BOTTLE_GTIN,
    KEY,
    OUTSIDER,
    PASSWORD,
    SITE_ROLES,
    UNIT_GTIN,
    WebWorld,
    csrf_of,
)


def on_hand(world: WebWorld, location_id: int) -> int:
    rows = queries.balances(world.rt, world.admin, location_id=location_id, item_id=world.item.id)
    return sum(r.on_hand for r in rows)


def error_code(html: str) -> str | None:
    found = re.search(r'data-error-code="([A-Z_]+)"', html)
    return found.group(1) if found else None


# --- signing in and out -------------------------------------------------------------------------


def test_pages_need_a_session_and_sign_in_returns_to_them(web_world: WebWorld) -> None:
    # given a browser without a session
    client = web_world.client()
    # when it opens the dashboard
    response = client.get("/dashboard?x=1", follow_redirects=False)
    # then it is sent to sign in, and back afterwards
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/dashboard%3Fx%3D1"
    page = client.get(response.headers["location"])
    assert 'name="next" value="/dashboard?x=1"' in page.text
    signed = client.post(
        "/signin",
        data={
            "username": "technician1",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "/dashboard?x=1",
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/dashboard?x=1"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith("rxledger_session=")
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
        assert attribute.lower() in cookie.lower()
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "technician1" in dashboard.text
    assert "CENTRAL pharmacy" in dashboard.text


def test_sign_out_ends_the_session_on_the_server(web_world: WebWorld) -> None:
    browser = web_world.sign_in("technician")
    token = browser.http.cookies.get("rxledger_session")
    assert token
    # when signing out
    response = browser.post("/signout", {})
    # then the cookie is cleared and the old token no longer opens anything
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"
    assert browser.get("/dashboard").status_code == 303
    replay = web_world.client()
    replay.cookies.set("rxledger_session", token)
    assert replay.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_wrong_password_is_refused_on_the_sign_in_page(fresh_world: WebWorld) -> None:
    client = fresh_world.client()
    page = client.get("/signin")
    response = client.post(
        "/signin",
        data={
            "username": "technician1",
            "password": "not it at all",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 401
    assert error_code(response.text) == "UNAUTHENTICATED"
    assert "user name or password is wrong" in response.text
    assert 'value="technician1"' in response.text  # the form again, filled in
    assert "rxledger_session" not in response.headers.get("set-cookie", "")


def test_repeated_failed_sign_ins_are_throttled(fresh_world: WebWorld) -> None:
    client = fresh_world.client()
    token = csrf_of(client.get("/signin").text)

    def attempt(password: str) -> int:
        data = {"username": "technician1", "password": password, "csrf_token": token}
        response = client.post("/signin", data=data, follow_redirects=False)
        if response.status_code == 429:
            assert error_code(response.text) == "TOO_MANY_ATTEMPTS"
            assert int(response.headers["retry-after"]) > 0
            assert "too many failed sign-ins" in response.text
        return int(response.status_code)

    # given five failures in the window
    assert [attempt("wrong password") for _ in range(5)] == [401] * 5
    # then even the right password is refused until the window passes
    assert attempt(PASSWORD) == 429
    fresh_world.clock.advance(timedelta(minutes=16))
    assert attempt(PASSWORD) == 303


def test_sign_in_needs_its_own_csrf_token(fresh_world: WebWorld) -> None:
    client = fresh_world.client()
    page = client.get("/signin")
    data = {"username": "technician1", "password": PASSWORD}
    # without a token, with a forged one, and with a token but without its cookie
    for token in ("", "f" * 64):
        response = client.post("/signin", data={**data, "csrf_token": token})
        assert response.status_code == 403
        assert error_code(response.text) == "CSRF_REJECTED"
    other = fresh_world.client()
    response = other.post("/signin", data={**data, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 403
    assert error_code(response.text) == "CSRF_REJECTED"
    assert "rxledger_session" not in response.headers.get("set-cookie", "")


def test_with_several_organizations_the_sign_in_asks_for_one(fresh_world: WebWorld) -> None:
    catalog.create_organization(fresh_world.rt, "OTHER", "Other Health")
    client = fresh_world.client()
    token = csrf_of(client.get("/signin").text)
    data = {"username": "technician1", "password": PASSWORD, "csrf_token": token}
    # without an organization code, the page asks for it
    asked = client.post("/signin", data=data)
    assert asked.status_code == 404
    assert error_code(asked.text) == "ORGANIZATION_NOT_FOUND"
    assert 'name="org"' in asked.text
    # with it, the user signs in
    signed = client.post("/signin", data={**data, "org": "TEST"}, follow_redirects=False)
    assert signed.status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_sign_in_never_redirects_off_site(fresh_world: WebWorld, target: str) -> None:
    client = fresh_world.client()
    page = client.get("/signin")
    response = client.post(
        "/signin",
        data={
            "username": "technician1",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": target,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/dashboard"


def test_an_expired_session_is_sent_to_sign_in_and_posts_nothing(fresh_world: WebWorld) -> None:
    browser = fresh_world.sign_in("technician")
    before = fresh_world.last_document_id()
    # when the 12-hour session has passed
    fresh_world.clock.advance(timedelta(hours=12, minutes=1))
    # then pages, htmx requests and posts all go to sign-in
    page = browser.get(f"/items/{fresh_world.item.id}")
    assert page.status_code == 303
    assert page.headers["location"] == f"/signin?next=/items/{fresh_world.item.id}"
    partial = browser.get("/pick?form=dispense&code=1", headers={"HX-Request": "true"})
    assert partial.headers["hx-redirect"].startswith("/signin?next=")
    posted = browser.post("/stock/dispense", dispense_data(fresh_world, 1, key="web:late"))
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/signin")
    assert fresh_world.last_document_id() == before


def test_the_site_switcher_moves_between_ones_own_sites(fresh_world: WebWorld) -> None:
    fresh_world.add_user(
        "floater",
        Grant(Role.TECHNICIAN, fresh_world.central.id),
        Grant(Role.TECHNICIAN, fresh_world.retail.id),
    )
    browser = fresh_world.sign_in("floater")
    assert "CENTRAL pharmacy" in browser.get("/dashboard").text
    switched = browser.post("/site", {"site_id": fresh_world.retail.id, "next": "/documents"})
    assert switched.status_code == 303
    assert switched.headers["location"] == "/documents"
    assert "RETAIL pharmacy" in browser.get("/dashboard").text
    # a technician of CENTRAL alone cannot switch to RETAIL
    tech = fresh_world.sign_in("technician")
    refused = tech.post("/site", {"site_id": fresh_world.retail.id})
    assert refused.status_code == 403
    assert error_code(refused.text) == "FORBIDDEN"


# --- CSRF on every form -------------------------------------------------------------------------


def dispense_data(world: WebWorld, quantity: int, key: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "site_id": world.central.id,
        "location_id": world.central.storage.id,
        "item_id": world.item.id,
        "quantity": quantity,
    }
    if key:
        data["idempotency_key"] = key
    return data


@pytest.mark.parametrize("token", [None, "", "not-the-session-token"])
def test_a_post_without_the_session_csrf_token_is_refused(
    web_world: WebWorld, token: str | None
) -> None:
    browser = web_world.client_for("technician")
    before = web_world.last_document_id()
    data = dispense_data(web_world, 1, key=f"web:csrf-{token}")
    if token is not None:
        data["csrf_token"] = token
    response = browser.post("/stock/dispense", data, csrf=False)
    assert response.status_code == 403
    assert error_code(response.text) == "CSRF_REJECTED"
    assert "nothing was posted" in response.text.lower()
    assert web_world.last_document_id() == before


def test_htmx_requests_may_send_the_csrf_token_as_a_header(web_world: WebWorld) -> None:
    browser = web_world.sign_in("technician")
    response = browser.http.post(
        "/signout", headers={"X-CSRF-Token": browser.csrf}, follow_redirects=False
    )
    assert response.status_code == 303


# --- the stock forms: confirm, then post --------------------------------------------------------


def test_dispense_confirms_the_fefo_lot_and_the_resulting_balance_then_posts_once(
    web_world: WebWorld,
) -> None:
    browser = web_world.client_for("technician")
    storage = web_world.central.storage.id
    start = on_hand(web_world, storage)
    before = web_world.last_document_id()
    # when confirming a dispense of 7
    confirm = browser.post("/stock/dispense/confirm", dispense_data(web_world, 7))
    # then the page shows the lot FEFO picks (L0 expires first), from -> to, and the balance after
    assert confirm.status_code == 200
    lines = confirm.text.split("data-preview-lines")[1].split("</table>")[0]
    assert "L0" in lines
    assert "L1" not in lines
    assert "MAIN" in lines
    assert "PATIENT" in lines
    assert f'data-after="{start - 7}"' in confirm.text
    assert web_world.last_document_id() == before  # the preview wrote nothing
    key = KEY.search(confirm.text)
    assert key
    # when posting twice with the confirm page's key (a double submit)
    data = {**dispense_data(web_world, 7), "idempotency_key": key.group(1)}
    first, second = browser.post("/stock/dispense", data), browser.post("/stock/dispense", data)
    # then one document is posted, and both answers point at it
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert web_world.last_document_id() == before + 1
    assert on_hand(web_world, storage) == start - 7
    page = browser.get(first.headers["location"])
    assert "Posted document" in page.text
    assert "technician1" in page.text


def test_a_refused_dispense_shows_insufficient_stock_and_posts_nothing(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    before = web_world.last_document_id()
    start = on_hand(web_world, web_world.central.storage.id)
    # at the confirm step
    confirm = browser.post("/stock/dispense/confirm", dispense_data(web_world, 1_000_000))
    assert confirm.status_code == 409
    assert error_code(confirm.text) == "INSUFFICIENT_STOCK"
    assert 'value="1000000"' in confirm.text  # the form again, as sent
    # and at the post step (say the stock went between confirm and post)
    posted = browser.post("/stock/dispense", dispense_data(web_world, 1_000_000, key="web:big"))
    assert posted.status_code == 409
    assert error_code(posted.text) == "INSUFFICIENT_STOCK"
    assert web_world.last_document_id() == before
    assert on_hand(web_world, web_world.central.storage.id) == start


def test_bad_input_is_shown_on_the_form(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    for quantity, code in (("abc", "VALIDATION_ERROR"), ("0", "INVALID_QUANTITY")):
        response = browser.post(
            "/stock/dispense/confirm", {**dispense_data(web_world, 1), "quantity": quantity}
        )
        assert response.status_code == 422
        assert error_code(response.text) == code
    no_item = {k: v for k, v in dispense_data(web_world, 1).items() if k != "item_id"}
    response = browser.post("/stock/dispense/confirm", no_item)
    assert response.status_code == 422
    assert "scan a product" in response.text
    unconfirmed = browser.post("/stock/dispense", dispense_data(web_world, 1))
    assert unconfirmed.status_code == 422
    assert "the confirm step is required" in unconfirmed.text


def test_receive_counts_packages_and_creates_the_lot(web_world: WebWorld) -> None:
    browser = web_world.client_for("buyer")
    receiving = web_world.central.receiving.id
    start = on_hand(web_world, receiving)
    data = {
        "site_id": web_world.central.id,
        "location_id": receiving,
        "item_id": web_world.item.id,
        "quantity": 2,
        "pack": 100,
        "lot_number": "NEW-7",
        "expiry": "2028-03-31",
        "reference": "PO-88",
    }
    confirm, posted = browser.confirm_and_post("receive", data)
    assert confirm.status_code == 200
    assert "NEW-7" in confirm.text
    assert "SUPPLIER" in confirm.text
    assert f'data-after="{start + 200}"' in confirm.text
    assert posted.status_code == 303
    assert on_hand(web_world, receiving) == start + 200
    document = browser.get(posted.headers["location"])
    assert "PO-88" in document.text
    assert "NEW-7" in document.text
    assert "RECV" in document.text


def test_put_away_moves_from_receiving_to_a_shelf(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    central = web_world.central
    start_shelf = on_hand(web_world, central.shelf.id)
    data = {
        "site_id": central.id,
        "from_location_id": central.storage.id,
        "to_location_id": central.shelf.id,
        "item_id": web_world.item.id,
        "quantity": 5,
        "put_away": 1,
    }
    confirm, posted = browser.confirm_and_post("move", data)
    assert confirm.status_code == 200
    assert "MAIN-A1" in confirm.text
    assert posted.status_code == 303
    assert on_hand(web_world, central.shelf.id) == start_shelf + 5
    assert "Put-away" in browser.get(posted.headers["location"]).text


def test_transfer_ships_to_another_site_and_that_site_receives_it(web_world: WebWorld) -> None:
    # given a technician at CENTRAL ships 4 to RETAIL
    tech = web_world.client_for("technician")
    central, retail = web_world.central, web_world.retail
    form = tech.get("/stock/transfer")
    assert "RETAIL" in form.text  # a destination, though the technician has no role there
    data = {
        "site_id": central.id,
        "from_location_id": central.storage.id,
        "to_site_id": retail.id,
        "item_id": web_world.item.id,
        "quantity": 4,
    }
    confirm, posted = tech.confirm_and_post("transfer", data)
    assert confirm.status_code == 200
    assert "TRANSIT" in confirm.text
    assert posted.status_code == 303
    shipment_id = int(posted.headers["location"].split("/documents/")[1].split("?")[0])
    # when RETAIL's manager opens the shipments in transit to RETAIL and receives it
    manager = web_world.client_for(OUTSIDER)
    page = manager.get("/stock/receive-transfer")
    assert f"#{shipment_id}</strong> from CENTRAL" in page.text
    start = on_hand(web_world, retail.receiving.id)
    receive = {  # what the browser sends: the shipment chosen, no number typed
        "site_id": retail.id,
        "shipment_id": shipment_id,
        "shipment_number": "",
        "location_id": retail.receiving.id,
    }
    confirm, posted = manager.confirm_and_post("receive-transfer", receive)
    assert confirm.status_code == 200
    assert posted.status_code == 303
    assert on_hand(web_world, retail.receiving.id) == start + 4
    # then nothing of it is left in transit
    assert f"#{shipment_id}</strong>" not in manager.get("/stock/receive-transfer").text


def test_a_dispense_is_returned_to_stock(web_world: WebWorld) -> None:
    dispensed = web_world.net.dispense(web_world.item, 6)
    browser = web_world.client_for("pharmacist")
    start = on_hand(web_world, web_world.central.quarantine.id)
    page = browser.get(f"/stock/return?dispense_id={dispensed.id}")
    assert f'value="{dispensed.id}"' in page.text
    data = {
        "site_id": web_world.central.id,
        "dispense_id": dispensed.id,
        "location_id": web_world.central.quarantine.id,
        "item_id": web_world.item.id,
        "quantity": 2,
    }
    confirm, posted = browser.confirm_and_post("return", data)
    assert confirm.status_code == 200
    assert "PATIENT" in confirm.text
    assert posted.status_code == 303
    assert on_hand(web_world, web_world.central.quarantine.id) == start + 2
    # and no more than was dispensed comes back
    too_many = browser.post("/stock/return/confirm", {**data, "quantity": 5})
    assert too_many.status_code == 409
    assert error_code(too_many.text) == "INSUFFICIENT_STOCK"


def test_adjust_by_a_delta_or_to_a_count_with_a_reason(web_world: WebWorld) -> None:
    browser = web_world.client_for("pharmacist")
    shelf = web_world.central.shelf.id
    web_world.net.receive(web_world.item, 50, "ADJ", location=web_world.central.shelf)
    lot_id = next(
        b.lot_id
        for b in queries.balances(web_world.rt, web_world.admin, location_id=shelf)
        if b.lot_number == "ADJ"
    )
    picker = browser.get(f"/pick?form=adjust&item_id={web_world.item.id}")
    assert f'value="{lot_id}"' in picker.text  # the lots to choose from
    base = {
        "site_id": web_world.central.id,
        "location_id": shelf,
        "item_id": web_world.item.id,
        "lot_id": lot_id,
        "reason_code": "DAMAGED",
    }
    start = on_hand(web_world, shelf)
    confirm, posted = browser.confirm_and_post(
        "adjust", {**base, "mode": "delta", "quantity": "-3"}
    )
    assert confirm.status_code == 200
    assert "ADJUST" in confirm.text
    assert posted.status_code == 303
    assert on_hand(web_world, shelf) == start - 3
    counted = {**base, "mode": "count", "quantity": 40, "reason_code": "COUNT"}
    confirm, posted = browser.confirm_and_post("adjust", counted)
    assert posted.status_code == 303
    assert on_hand(web_world, shelf) == start - 3 - 7  # the ADJ lot now counts 40
    unknown = browser.post(
        "/stock/adjust/confirm", {**base, "mode": "delta", "quantity": 1, "reason_code": "WHIM"}
    )
    assert unknown.status_code == 422
    assert error_code(unknown.text) == "REASON_CODE_UNKNOWN"


def test_a_document_is_reversed_once(web_world: WebWorld) -> None:
    receipt = web_world.net.receive(web_world.item, 3, "REV")
    browser = web_world.client_for("pharmacist")
    page = browser.get(f"/documents/{receipt.id}")
    assert "data-reverse" in page.text
    confirm, posted = browser.confirm_and_post("reverse", {"document_id": receipt.id})
    assert confirm.status_code == 200
    assert "REV" in confirm.text
    assert posted.status_code == 303
    reversed_page = browser.get(f"/documents/{receipt.id}")
    assert "Reversed by" in reversed_page.text
    assert "data-reverse" not in reversed_page.text
    again = browser.post("/stock/reverse/confirm", {"document_id": receipt.id})
    assert again.status_code == 409
    assert error_code(again.text) == "ALREADY_REVERSED"


# --- scanning -----------------------------------------------------------------------------------


def test_a_scan_resolves_the_product_by_gtin_ndc_or_name(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    item_id = f'name="item_id" value="{web_world.item.id}"'
    for code in (UNIT_GTIN, UNIT_GTIN[1:], "0777-3105-02", "0777310502", "00777310502"):
        response = browser.get(f"/pick?form=dispense&code={code}")
        assert response.status_code == 200, code
        assert item_id in response.text, code
    # a case or bottle barcode counts in that package on the receiving form
    bottle = browser.get(f"/pick?form=receive&code={BOTTLE_GTIN}")
    assert '<option value="100" selected>' in bottle.text
    # a name: one match picks it, live search lists
    assert item_id in browser.get("/pick?form=dispense&code=Amoxicillin").text
    listed = browser.get("/pick/search?form=dispense&scan=amox")
    assert f"item_id={web_world.item.id}" in listed.text
    unknown = browser.get("/pick?form=dispense&code=00012345678905")
    assert unknown.status_code == 404
    assert error_code(unknown.text) == "ITEM_NOT_FOUND"
    assert "data-picker" in unknown.text  # the picker again, with the error in it


def test_without_javascript_the_scan_text_itself_names_the_product(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    data = {k: v for k, v in dispense_data(web_world, 1).items() if k != "item_id"}
    confirm = browser.post("/stock/dispense/confirm", {**data, "scan": UNIT_GTIN})
    assert confirm.status_code == 200
    assert f'name="item_id" value="{web_world.item.id}"' in confirm.text


def test_the_header_scan_opens_the_item_page(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    response = browser.get(f"/scan?code={UNIT_GTIN}")
    assert response.headers["location"] == f"/items/{web_world.item.id}"
    page = browser.get(response.headers["location"])
    for text in (
        "0777-3105-02",
        "00777-3105-02",
        UNIT_GTIN,
        BOTTLE_GTIN,
        "data-ledger",
        "chart-52",
    ):
        assert text in page.text


# --- reading pages ------------------------------------------------------------------------------


def test_documents_are_listed_by_type_and_page(web_world: WebWorld) -> None:
    for _ in range(3):
        web_world.net.dispense(web_world.item, 1)
    browser = web_world.client_for("auditor")
    page = browser.get("/documents?type=dispense")
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert "Dispense" in rows
    assert "Receipt" not in rows
    newest = queries.list_documents(
        web_world.rt, web_world.admin, site_id=web_world.central.id, doc_type="dispense", limit=2
    )
    older = browser.get(f"/documents?type=dispense&before={newest[0]['id']}")
    assert f'href="/documents/{newest[1]["id"]}"' in older.text
    assert f'href="/documents/{newest[0]["id"]}"' not in older.text.split("<tbody>")[1]


def test_a_document_page_names_items_lots_and_locations(web_world: WebWorld) -> None:
    dispensed = web_world.net.dispense(web_world.item, 2)
    tech = web_world.client_for("technician")
    page = tech.get(f"/documents/{dispensed.id}")
    movements = page.text.split("data-movements")[1]
    for text in ("Amoxicillin 500 mg capsule", "MAIN", "PATIENT"):
        assert text in movements
    assert "Return to stock" in page.text
    assert "data-reverse" not in page.text  # a technician may not reverse


def test_unknown_things_are_a_clear_page_not_a_stack_trace(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    for url, status, code in (
        ("/items/999999", 404, "ITEM_NOT_FOUND"),
        ("/documents/999999", 404, "DOCUMENT_NOT_FOUND"),
        ("/items/not-a-number", 404, "VALIDATION_ERROR"),
        ("/stock/teleport", 404, "NOT_FOUND"),
    ):
        response = browser.get(url)
        assert response.status_code == status, url
        assert error_code(response.text) == code
        assert "Traceback" not in response.text


def test_pages_carry_security_headers(web_world: WebWorld) -> None:
    response = web_world.client().get("/signin")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


# --- users and tokens ---------------------------------------------------------------------------


def test_an_admin_manages_users_and_their_roles(fresh_world: WebWorld) -> None:
    fresh_world.add_user("boss", Grant(Role.ADMIN, fresh_world.central.id))
    admin = fresh_world.sign_in("boss")
    created = admin.post(
        "/users",
        {
            "username": "newtech",
            "full_name": "New Tech",
            "password": PASSWORD,
            "role": "technician",
            "site_id": fresh_world.central.id,
        },
    )
    assert created.status_code == 303
    user = next(
        u for u in identity.list_users(fresh_world.rt, fresh_world.admin) if u.username == "newtech"
    )
    assert user.grants == (Grant(Role.TECHNICIAN, fresh_world.central.id),)
    grant = {"action": "grant", "role": "pharmacist", "site_id": fresh_world.central.id}
    assert admin.post(f"/users/{user.id}/roles", grant).status_code == 303
    revoke = {"action": "revoke", "role": "technician", "site_id": fresh_world.central.id}
    assert admin.post(f"/users/{user.id}/roles", revoke).status_code == 303
    page = admin.get("/users")
    assert "pharmacist · CENTRAL" in page.text
    # a short password is refused on the page, with the form kept
    short = admin.post("/users", {"username": "x2", "password": "short", "role": "technician"})
    assert short.status_code == 422
    assert error_code(short.text) == "VALIDATION_ERROR"
    assert 'value="x2"' in short.text
    # deactivated, the user can no longer sign in
    assert admin.post(f"/users/{user.id}/active", {"active": 0}).status_code == 303
    client = fresh_world.client()
    page = client.get("/signin")
    response = client.post(
        "/signin",
        data={"username": "newtech", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 401


def test_a_technician_cannot_open_or_use_the_users_page(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    assert "/users" not in browser.get("/dashboard").text  # hidden
    page = browser.get("/users")
    assert page.status_code == 403
    assert error_code(page.text) == "FORBIDDEN"
    count = len(identity.list_users(web_world.rt, web_world.admin))
    create = browser.post(
        "/users",
        {"username": "sneaky", "password": PASSWORD, "role": "admin", "site_id": ""},
    )
    assert create.status_code == 403
    assert len(identity.list_users(web_world.rt, web_world.admin)) == count


def test_tokens_are_created_shown_once_used_and_revoked(web_world: WebWorld) -> None:
    browser = web_world.client_for("technician")
    created = browser.post("/tokens", {"name": "label printer", "expires_days": 30})
    assert created.status_code == 201
    secret = re.search(r'value="(rxl_[^"]+)"', created.text)
    assert secret
    api = web_world.client()
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    assert api.get("/api/v1/items", headers=headers).status_code == 200
    listing = browser.get("/tokens")
    assert "label printer" in listing.text
    assert secret.group(1) not in listing.text
    token_id = next(
        t.id
        for t in identity.list_tokens(web_world.rt, _actor(web_world, "technician1"))
        if t.name == "label printer"
    )
    assert browser.post(f"/tokens/{token_id}/revoke", {}).status_code == 303
    assert api.get("/api/v1/items", headers=headers).status_code == 401
    assert "revoked" in browser.get("/tokens").text


def _actor(world: WebWorld, username: str) -> Actor:
    return identity.user_actor(world.rt, world.admin.organization_id, username)


# --- the authorization matrix -------------------------------------------------------------------

ALLOWED: dict[str, set[str]] = {
    "receive": {"technician", "pharmacist", "buyer", "manager", "admin"},
    "move": {"technician", "pharmacist", "manager", "admin"},
    "transfer": {"technician", "pharmacist", "manager", "admin"},
    "receive-transfer": {"technician", "pharmacist", "manager", "admin"},
    "dispense": {"technician", "pharmacist", "manager", "admin"},
    "return": {"technician", "pharmacist", "manager", "admin"},
    "adjust": {"pharmacist", "manager", "admin"},
    "reverse": {"pharmacist", "manager", "admin"},
}
EVERYONE = [r.value for r in SITE_ROLES] + [OUTSIDER]


def _shipment_to_central(world: WebWorld) -> dict[str, object]:
    central, retail = world.central, world.retail
    shipment = stock.ship_transfer(
        world.rt,
        world.admin,
        stock.ShipTransfer(
            retail.id, retail.storage.id, central.id, [stock.StockLine(world.item.id, 1)]
        ),
    )
    return {"site_id": central.id, "shipment_id": shipment.id, "location_id": central.receiving.id}


def _dispense_to_return(world: WebWorld) -> dict[str, object]:
    dispensed = world.net.dispense(world.item, 1)
    central = world.central
    return {"site_id": central.id, "dispense_id": dispensed.id, "location_id": central.storage.id}


def _adjustment(world: WebWorld) -> dict[str, object]:
    storage = world.central.storage.id
    balances = queries.balances(world.rt, world.admin, location_id=storage, item_id=world.item.id)
    return {
        "site_id": world.central.id,
        "location_id": storage,
        "lot_id": next(b.lot_id for b in balances if b.lot_number == "L1"),
        "mode": "delta",
        "quantity": -1,
        "reason_code": "DAMAGED",
        "item_id": world.item.id,
    }


def _stock_line(world: WebWorld, **fields: object) -> dict[str, object]:
    return {"site_id": world.central.id, "item_id": world.item.id, "quantity": 1, **fields}


FORM_DATA: dict[str, Callable[[WebWorld], dict[str, object]]] = {
    "receive": lambda w: _stock_line(
        w, location_id=w.central.receiving.id, lot_number="MX", expiry="2028-01-31"
    ),
    "move": lambda w: _stock_line(
        w, from_location_id=w.central.storage.id, to_location_id=w.central.shelf.id
    ),
    "transfer": lambda w: _stock_line(
        w, from_location_id=w.central.storage.id, to_site_id=w.retail.id
    ),
    "receive-transfer": _shipment_to_central,
    "dispense": lambda w: _stock_line(w, location_id=w.central.storage.id),
    "return": _dispense_to_return,
    "adjust": _adjustment,
    "reverse": lambda w: {"document_id": w.net.receive(w.item, 1, "RVX").id},
}


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("slug", sorted(ALLOWED))
def test_authorization_matrix_of_the_stock_forms(web_world: WebWorld, slug: str, who: str) -> None:
    # given a user of each role at CENTRAL, and a manager of RETAIL acting on CENTRAL
    browser = web_world.client_for(who)
    allowed = who in ALLOWED[slug]
    data = FORM_DATA[slug](web_world)  # valid input at CENTRAL, with a fresh document if needed
    before = web_world.last_document_id()
    # when they open the form, confirm it and post it (forging a key when never given one)
    if who != OUTSIDER:
        assert browser.get(f"/stock/{slug}").status_code == (200 if allowed else 403)
    confirm = browser.post(f"/stock/{slug}/confirm", data)
    key = KEY.search(confirm.text)
    posted = browser.post(
        f"/stock/{slug}", {**data, "idempotency_key": key.group(1) if key else f"web:{who}:{slug}"}
    )
    # then it posts exactly when the role allows it at that site, and nothing otherwise
    if allowed:
        assert confirm.status_code == 200, confirm.text
        assert posted.status_code == 303, posted.text
        assert web_world.last_document_id() == before + 1
    else:
        assert confirm.status_code == 403
        assert error_code(confirm.text) == "FORBIDDEN"
        assert posted.status_code == 403
        assert error_code(posted.text) == "FORBIDDEN"
        assert web_world.last_document_id() == before


PAGES: dict[str, Callable[[WebWorld], str]] = {
    "dashboard": lambda w: "/dashboard",
    "documents": lambda w: "/documents",
    "document": lambda w: "/documents/1",  # a receipt at CENTRAL
    "item": lambda w: f"/items/{w.item.id}",
    "products": lambda w: "/items?q=amox",
    "tokens": lambda w: "/tokens",
    "users": lambda w: "/users",
    "purchasing": lambda w: "/purchasing",  # each at their own site; forms in test_web_purchasing
}
PAGE_ALLOWED: dict[str, set[str]] = {
    "users": {"admin"},
    "document": {r.value for r in SITE_ROLES},
}


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_authorization_matrix_of_the_pages(web_world: WebWorld, page: str, who: str) -> None:
    browser = web_world.client_for(who)
    allowed = who in PAGE_ALLOWED.get(page, set(EVERYONE))
    response = browser.get(PAGES[page](web_world))
    assert response.status_code == (200 if allowed else 403), response.text
    if not allowed:
        assert error_code(response.text) == "FORBIDDEN"


@pytest.mark.parametrize("who", EVERYONE)
def test_authorization_matrix_of_user_management(web_world: WebWorld, who: str) -> None:
    browser = web_world.client_for(who)
    allowed = who == "admin"
    count = len(identity.list_users(web_world.rt, web_world.admin))
    created = browser.post(
        "/users",
        {
            "username": f"made-by-{who}",
            "password": PASSWORD,
            "role": "technician",
            "site_id": web_world.central.id,
        },
    )
    assert created.status_code == (303 if allowed else 403)
    assert len(identity.list_users(web_world.rt, web_world.admin)) == count + int(allowed)
    # an org-wide grant needs an org-wide administrator: even the site admin is refused
    victim = identity.list_users(web_world.rt, web_world.admin)[0]
    escalate = browser.post(
        f"/users/{victim.id}/roles", {"action": "grant", "role": "admin", "site_id": ""}
    )
    assert escalate.status_code == 403
    assert identity.get_user(web_world.rt, web_world.admin, victim.id).grants == victim.grants


def test_a_user_of_another_site_cannot_switch_to_or_read_it(web_world: WebWorld) -> None:
    browser = web_world.client_for(OUTSIDER)
    assert "RETAIL pharmacy" in browser.get("/dashboard").text
    assert (
        "CENTRAL"
        not in browser.get("/dashboard").text.split('id="site-select"')[1].split("</select>")[0]
    )
    switched = browser.post("/site", {"site_id": web_world.central.id})
    assert switched.status_code == 403
    assert error_code(switched.text) == "FORBIDDEN"
    item = browser.get(f"/items/{web_world.item.id}")
    assert item.status_code == 200
    retail = queries.balances(
        web_world.rt, web_world.admin, site_id=web_world.retail.id, item_id=web_world.item.id
    )
    assert f'data-on-hand="{sum(b.on_hand for b in retail)}"' in item.text  # RETAIL's stock only
    assert "CENTRAL" not in item.text
