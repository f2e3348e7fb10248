"""The store dashboard (/stores/<id>/) driven in headless Chromium as store staff use it:
search and the low-stock filter, inline edits, the add-product flow with its match
candidates, the photo barcode scanner, and the tenant boundary.

Each test checks what the page shows and what the database then holds.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
import zxingcpp
from PIL import Image

from shelfwatch.accounts.models import StoreMembership, User
from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.barcodes import check_digit
from shelfwatch.catalog.match_reasons import reason_code
from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.catalog.products import create_product
from shelfwatch.inventory.models import StockItem, StockMovement, Store
from tests.browser.conftest import PHONE, sign_in
from tests.conftest import PASSWORD

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # tests/browser/conftest.py skips (or fails) every test here
    Locator = Page = expect = None

pytestmark = pytest.mark.browser

# Chromium on Linux has no BarcodeDetector today, but other builds do; deleting it makes
# the page take its photo path (a file input the server decodes) on every build.
NO_BARCODE_DETECTOR = "delete window.BarcodeDetector;"
# A phone with a live scanner, as far as the page can tell: a camera whose stream is a
# painted canvas, and a BarcodeDetector that reads `window.shelfCode` off any video that
# has a frame to show. `window.cameraDenied = true` makes the camera refuse, as a user can.
FAKE_CAMERA = """
window.BarcodeDetector = class {
  constructor(options) { window.detectorFormats = options.formats; }
  detect(video) {
    return Promise.resolve(video.readyState >= 2 ? [{ rawValue: window.shelfCode }] : []);
  }
};
navigator.mediaDevices.getUserMedia = () => {
  if (window.cameraDenied) {
    return Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
  }
  const canvas = document.createElement("canvas");
  canvas.width = 320;
  canvas.height = 240;
  canvas.getContext("2d").fillRect(0, 0, 320, 240);
  window.cameraStream = canvas.captureStream(10);
  return Promise.resolve(window.cameraStream);
};
"""


def gtin(body: str) -> str:
    """A valid EAN-13 from its first 12 digits."""
    return body + str(check_digit(body))


BUTTER_CODE = "8901262010016"
GHEE_CODE = gtin("890126201003")


@dataclass
class Shop:
    store: Store
    other: Store
    staff: User
    butter: StockItem  # 12 on the shelf, reorder at 4
    bread: StockItem  # 2 on the shelf, reorder at 5: low
    ghee: Product  # in the catalog, not stocked here

    @property
    def url(self) -> str:
        return f"/stores/{self.store.pk}/"


@pytest.fixture
def shop(store_a, store_b) -> Shop:
    # No passwords: hashing one costs half a second; only the login test sets one.
    admin = User.objects.create_superuser("catalog-admin@example.com")
    staff = User.objects.create_user("staff-a@example.com")
    StoreMembership.objects.create(user=staff, store=store_a, role="staff")
    curator = Principal(user=admin, method="session")

    def product(name: str, brand: str, amount: str, unit: str, barcode: str | None) -> Product:
        return create_product(
            principal=curator,
            name=name,
            brand=brand,
            barcode=barcode,
            net_quantity=Decimal(amount),
            net_unit=unit,
            confirm_new=True,
        )

    butter = product("Amul Butter", "Amul", "500", "g", BUTTER_CODE)
    bread = product("Pav Bread", "Modern", "250", "g", None)
    ghee = product("Amul Pure Ghee", "Amul", "1", "l", GHEE_CODE)
    rice = product("India Gate Basmati Rice", "India Gate", "5", "kg", None)
    StockItem.objects.create(store=store_b, product=rice, quantity=30)
    return Shop(
        store=store_a,
        other=store_b,
        staff=staff,
        butter=StockItem.objects.create(
            store=store_a, product=butter, quantity=12, reorder_level=4, selling_price="275.00"
        ),
        bread=StockItem.objects.create(
            store=store_a, product=bread, quantity=2, reorder_level=5, selling_price="40.00"
        ),
        ghee=ghee,
    )


def row(page: Page, name: str) -> Locator:
    """The inventory table's row of the product called `name`."""
    return page.locator("table.inventory tbody tr[data-item]").filter(has_text=name)


def expect_products(page: Page, names: list[str]) -> None:
    """The table lists exactly `names`, in order (waiting for a reload to finish)."""
    cells = page.locator("table.inventory tbody tr[data-item] td:first-child")
    names_first = [re.compile(rf"^{re.escape(name)}\b") for name in names]
    expect(cells).to_have_text(names_first, use_inner_text=True)  # the brand is on a new line


def save_edit(page: Page, box: Locator, value: str, key: str = "Enter") -> None:
    """Type `value` into an inline edit box and commit it with `key`, as staff do; returns
    once the page's call to the API has been answered."""
    with page.expect_response(lambda response: response.request.method in ("POST", "PATCH")):
        box.fill(value)
        box.press(key)


@pytest.fixture
def open_dashboard(sign_in_as, shop: Shop) -> Callable[[Page], None]:
    """`open_dashboard(page)`: the store's staff member, signed in, on its dashboard."""

    def open_(page: Page) -> None:
        sign_in_as(page, shop.staff)
        page.goto(shop.url)
        expect(page.get_by_role("heading", level=1)).to_contain_text(shop.store.name)

    return open_


def test_staff_sign_in_and_see_search_and_filter_their_stock(page: Page, shop: Shop):
    shop.staff.set_password(PASSWORD)
    shop.staff.save()
    sign_in(page, shop.staff.email, then="/stores/")
    # Staff of one store: /stores/ sends them straight to that store's dashboard.
    expect(page).to_have_url(re.compile(re.escape(shop.url) + "$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(shop.store.name)
    expect_products(page, ["Amul Butter", "Pav Bread"])

    search = page.get_by_role("searchbox", name="Search inventory")
    search.fill("bread")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"q=bread"))
    expect_products(page, ["Pav Bread"])

    search.fill(BUTTER_CODE[:6])  # a barcode prefix, as read off a pack
    search.press("Enter")
    expect(page).to_have_url(re.compile(rf"q={BUTTER_CODE[:6]}"))
    expect_products(page, ["Amul Butter"])

    search.fill("")
    page.get_by_label("Low stock only").check()  # applies at once: no Search press
    expect(page).to_have_url(re.compile(r"low=1"))
    expect_products(page, ["Pav Bread"])
    expect(row(page, "Pav Bread")).to_have_class(re.compile(r"\blow\b"))


def test_inline_count_and_price_edits_are_saved(page: Page, shop: Shop, open_dashboard):
    open_dashboard(page)
    butter = row(page, "Amul Butter")

    save_edit(page, butter.get_by_label("Quantity of Amul Butter"), "3")
    expect(page.locator("#status")).to_have_text("Saved.")
    shop.butter.refresh_from_db()
    assert shop.butter.quantity == 3
    movement = StockMovement.objects.get(item=shop.butter)
    assert (movement.delta, movement.quantity_after, movement.reason) == (-9, 3, "adjustment")
    assert movement.actor == shop.staff
    # 3 is under the reorder level of 4: the row says so at once, as it would after a reload.
    expect(butter).to_have_class(re.compile(r"\blow\b"))
    expect(butter.get_by_text("low", exact=True)).to_be_visible()

    price = butter.get_by_label("Price of Amul Butter")
    save_edit(page, price, "279.5", "Tab")
    expect(page.locator("#status")).to_have_text("Saved.")
    expect(price).to_have_value("279.50")  # as stored
    shop.butter.refresh_from_db()
    assert shop.butter.selling_price == Decimal("279.50")

    page.reload()
    expect(row(page, "Amul Butter").get_by_label("Quantity of Amul Butter")).to_have_value("3")
    expect(row(page, "Amul Butter").get_by_label("Price of Amul Butter")).to_have_value("279.50")


def test_invalid_edits_are_refused_in_words_for_people_and_change_nothing(
    page: Page, shop: Shop, open_dashboard
):
    open_dashboard(page)
    bread = row(page, "Pav Bread")
    status = page.locator("#status")

    price = bread.get_by_label("Price of Pav Bread")
    save_edit(page, price, "-5")
    expect(status).to_have_text("Type a price of 0 or more, such as 4.50.")
    expect(status).to_have_class("error")
    expect(price).to_have_value("40.00")  # the saved value is back in the box

    quantity = bread.get_by_label("Quantity of Pav Bread")
    save_edit(page, quantity, "-1")
    expect(status).to_have_text("Type a whole number, 0 or more.")
    expect(quantity).to_have_value("2")
    # Never the API's own wording ("a quantity cannot be negative", pydantic's "Input
    # should be a valid integer").
    page.evaluate("document.getElementById('status').textContent = ''")

    save_edit(page, quantity, "2.5")  # not rounded down to 2 behind the user's back
    expect(status).to_have_text("Type a whole number, 0 or more.")
    expect(quantity).to_have_value("2")

    reorder = bread.get_by_label("Reorder level of Pav Bread")
    reorder.fill("")
    reorder.press("Enter")
    expect(status).to_have_text("Type a whole number, 0 or more.")
    expect(reorder).to_have_value("5")

    shop.bread.refresh_from_db()
    assert (shop.bread.quantity, shop.bread.selling_price) == (2, Decimal("40.00"))
    assert shop.bread.reorder_level == 5
    assert not StockMovement.objects.filter(item=shop.bread).exists()


def fill_new_product(
    page: Page, *, name: str, brand: str = "", barcode: str = "", **more: str
) -> None:
    """Fill in the add-product form (`amount`, `unit`, `stock`, `price` optional) and ask
    the page to check the catalog."""
    form = page.locator("#add-form")
    form.get_by_label("Barcode").fill(barcode)
    form.get_by_label("Name").fill(name)
    form.get_by_label("Brand").fill(brand)
    if "amount" in more:
        form.locator("input[name=net_quantity]").fill(more["amount"])
        form.locator("select[name=net_unit]").select_option(more["unit"])
    form.get_by_label("Opening stock").fill(more.get("stock", "0"))
    form.get_by_label("Price").fill(more.get("price", ""))
    form.get_by_role("button", name="Check the catalog").click()


def test_adding_a_known_product_shows_candidates_and_can_create_anyway(
    page: Page, shop: Shop, open_dashboard
):
    open_dashboard(page)
    products_before = Product.objects.count()
    fill_new_product(
        page, name="Amul Pure Ghee", brand="Amul", amount="1", unit="l", stock="6", price="650"
    )

    candidates = page.locator("#candidates")
    expect(candidates).to_be_visible()
    expect(candidates.get_by_role("listitem").first).to_contain_text("Amul Pure Ghee (Amul)")
    expect(page.locator("#add-status")).to_have_text(
        "This looks like a product the catalog already has."
    )
    assert Product.objects.count() == products_before  # nothing is created before a choice

    # The catalog's matcher calls it a likely duplicate: the first press asks again, in
    # words for people; the second creates it.
    none_of_these = page.get_by_role("button", name="None of these: create a new product")
    none_of_these.click()
    expect(page.locator("#add-status")).to_contain_text(
        "press \u201cNone of these\u201d again to create it anyway"
    )
    assert Product.objects.count() == products_before
    none_of_these.click()
    expect(row(page, "Amul Pure Ghee")).to_be_visible()  # the page reloaded with it
    expect(row(page, "Amul Pure Ghee").locator(".tag")).to_have_text("pending review")

    created = Product.objects.exclude(pk=shop.ghee.pk).get(name="Amul Pure Ghee")
    assert created.status == VerificationStatus.PENDING
    assert created.created_by == shop.staff
    item = StockItem.objects.get(store=shop.store, product=created)
    assert (item.quantity, item.selling_price) == (6, Decimal("650.00"))
    assert not StockItem.objects.filter(store=shop.store, product=shop.ghee).exists()


def test_after_adding_a_product_the_page_shows_its_row_and_says_so(
    page: Page, shop: Shop, open_dashboard
):
    """The page used to reload after adding and lose its "Added to the store." line: the
    new row sat somewhere in the table with nothing to say it had worked."""
    open_dashboard(page)
    fill_new_product(page, name="Haldiram Aloo Bhujia", brand="Haldiram", stock="9", price="110")
    new_row = row(page, "Haldiram Aloo Bhujia")
    expect(new_row).to_be_visible()
    expect(new_row).to_have_class(re.compile(r"\bsaved\b"))
    expect(new_row).to_be_in_viewport()
    expect(page.locator("#status")).to_have_text("Added Haldiram Aloo Bhujia to the store.")
    # The address no longer asks for the message: a reload shows the plain table.
    assert "added=" not in page.url
    page.reload()
    expect(page.locator("#status")).to_have_text("")
    item = StockItem.objects.get(store=shop.store, product__name="Haldiram Aloo Bhujia")
    assert (item.quantity, item.selling_price) == (9, Decimal("110.00"))


def test_candidates_say_why_in_plain_words_not_the_matchers(page: Page, shop: Shop, open_dashboard):
    open_dashboard(page)
    fill_new_product(page, name="Amul Pure Ghee", brand="Amul", amount="1", unit="l")
    ghee = page.locator("#candidate-list li").filter(has_text="Amul Pure Ghee (Amul)")
    expect(ghee).to_contain_text("same brand and size")
    expect(ghee).to_contain_text("same name")
    expect(ghee).not_to_contain_text("similar")
    expect(ghee).not_to_contain_text("same quantity")


def test_every_kind_of_reason_reads_plainly_and_an_unknown_one_as_written(
    page: Page, shop: Shop, open_dashboard
):
    # The catalog's answer as the API gives it, with reasons the matcher rarely gives for
    # a pack on a shop's shelf (a size that differs ranks below the candidates shown).
    reasons = [
        "quantity differs: 500 g vs 1000 g",
        "name 0.72 similar",
        "different brands: Amul vs Mother Dairy",
        "a reason the page has no words for",
    ]
    answer = {
        "likely_duplicate": False,
        "candidates": [
            {
                "product_id": shop.butter.product_id,
                "name": "Amul Butter",
                "brand": "Amul",
                "status": "verified",
                "score": 0.5,
                "reasons": reasons,
                "reason_codes": [reason_code(r).as_dict() for r in reasons],
            }
        ],
    }
    open_dashboard(page)
    page.route("**/api/v1/catalog/match", lambda route: route.fulfill(json=answer))
    fill_new_product(page, name="Butter", brand="Amul", amount="500", unit="g")
    expect(page.locator("#candidate-list li")).to_contain_text(
        "different size: 500 g vs 1000 g, similar name, different brand: Amul vs Mother Dairy,"
        " a reason the page has no words for"
    )


def test_a_candidate_the_store_already_stocks_leads_to_its_row(
    page: Page, shop: Shop, open_dashboard
):
    """Checking the catalog for a product the store already has offered "Stock this",
    which could only fail ("This store already stocks it"): it now says so and leads to
    the row to edit."""
    open_dashboard(page)
    fill_new_product(page, name="Amul Butter", brand="Amul", amount="500", unit="g", stock="3")
    candidate = page.locator("#candidates").get_by_role("listitem").filter(has_text="Amul Butter")
    expect(candidate).to_contain_text("already stocked here")
    expect(candidate.get_by_role("button", name="Stock this")).to_have_count(0)
    candidate.get_by_role("button", name="Go to its row").click()
    butter_row = row(page, "Amul Butter")
    expect(butter_row).to_have_class(re.compile(r"\bsaved\b"))
    expect(butter_row).to_be_in_viewport()
    expect(butter_row.locator('input[data-field="quantity"]')).to_be_focused()
    assert StockItem.objects.filter(store=shop.store).count() == 2


def test_on_a_phone_a_refused_new_product_is_explained_beside_the_form(
    open_page, shop: Shop, open_dashboard
):
    page = open_page(viewport=PHONE)
    open_dashboard(page)
    products_before = Product.objects.count()
    fill_new_product(page, name="Ghee tin", barcode="1234567890123")  # a wrong check digit

    # The form is at the bottom of a long page: the reason must be where the person is.
    message = page.locator("section.add").get_by_role("status")
    expect(message).to_have_class("error")
    expect(message).not_to_be_empty()
    expect(message).to_be_in_viewport()
    expect(page.locator("#add-form").get_by_label("Name")).to_have_value("Ghee tin")
    assert Product.objects.count() == products_before


def test_choosing_a_candidate_stocks_it_instead_of_a_duplicate(
    page: Page, shop: Shop, open_dashboard
):
    open_dashboard(page)
    products_before = Product.objects.count()
    fill_new_product(
        page, name="Amul Pure Ghee", brand="Amul", amount="1", unit="l", stock="6", price="650"
    )
    ghee = page.locator("#candidate-list li").filter(has_text="Amul Pure Ghee (Amul)")
    ghee.get_by_role("button", name="Stock this").click()

    expect(row(page, "Amul Pure Ghee")).to_be_visible()
    expect(row(page, "Amul Pure Ghee").get_by_label("Quantity of Amul Pure Ghee")).to_have_value(
        "6"
    )
    assert Product.objects.count() == products_before
    item = StockItem.objects.get(store=shop.store, product=shop.ghee)
    assert (item.quantity, item.selling_price) == (6, Decimal("650.00"))
    assert StockMovement.objects.get(item=item).reason == "restock"


def test_a_barcode_the_catalog_has_is_refused_with_the_api_message(
    page: Page, shop: Shop, open_dashboard
):
    open_dashboard(page)
    products_before = Product.objects.count()
    fill_new_product(page, name="Ghee tin", barcode=GHEE_CODE)

    candidates = page.locator("#candidate-list li")
    expect(candidates.first).to_contain_text("Amul Pure Ghee (Amul)")
    expect(candidates.first).to_contain_text("same barcode")
    page.get_by_role("button", name="None of these: create a new product").click()

    expect(page.locator("#add-status")).to_have_text("Another product already has this barcode.")
    expect(page.locator("#add-status")).to_have_class("error")
    # What to do instead stays on offer: stock the product that holds the barcode.
    expect(candidates).to_have_count(1)
    expect(candidates.first).to_contain_text("Amul Pure Ghee")
    assert Product.objects.count() == products_before
    assert not StockItem.objects.filter(store=shop.store, product=shop.ghee).exists()


def shelf_photo(code: str, size: tuple[int, int] = (3264, 2448)) -> bytes:
    """A JPEG like a phone's photo of a pack: an EAN-13 label on a noisy grey shelf. The
    default 8-megapixel size makes a 2.5 MB file, well over the 1 MiB JSON body limit."""
    symbol = zxingcpp.create_barcode(code, zxingcpp.BarcodeFormat.EAN13)
    pixels = symbol.to_image(scale=max(2, size[0] // 400), add_quiet_zones=True)
    height, width = pixels.shape[:2]
    label = Image.frombytes("L", (width, height), memoryview(pixels).tobytes())
    # Noise keeps JPEG from squeezing the picture to nothing, as a real photo's grain does.
    photo = Image.effect_noise(size, 24).point(lambda value: value // 2 + 90)
    photo.paste(label, ((size[0] - width) // 2, (size[1] - height) // 2))
    buffer = io.BytesIO()
    photo.convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def choose_photo(page: Page, button: str, photo: bytes) -> None:
    """Press a scan button and answer the photo picker it opens with `photo`."""
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=button, exact=True).click()
    chooser.value.set_files({"name": "shelf.jpg", "mimeType": "image/jpeg", "buffer": photo})


def test_a_photo_scan_finds_the_row_to_count(open_page, shop: Shop, open_dashboard):
    page = open_page(viewport=PHONE, init_script=NO_BARCODE_DETECTOR)
    open_dashboard(page)
    assert page.evaluate("'BarcodeDetector' in window") is False

    photo = shelf_photo(BUTTER_CODE)
    assert len(photo) > 2_000_000
    choose_photo(page, "Scan to count", photo)
    expect(page.locator("#status")).to_have_text(f"Found {BUTTER_CODE}: type the counted quantity.")
    quantity = row(page, "Amul Butter").get_by_label("Quantity of Amul Butter")
    expect(quantity).to_be_focused()

    page.keyboard.type("10")  # the scan selected the old count: typing replaces it
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("Saved.")
    shop.butter.refresh_from_db()
    assert shop.butter.quantity == 10
    assert StockMovement.objects.get(item=shop.butter).delta == -2


def test_a_photo_scan_offers_the_catalog_product_to_stock(open_page, shop: Shop, open_dashboard):
    page = open_page(viewport=PHONE, init_script=NO_BARCODE_DETECTOR)
    open_dashboard(page)

    blank = io.BytesIO()
    Image.new("RGB", (400, 300), (235, 232, 225)).save(blank, "JPEG")
    choose_photo(page, "Scan", blank.getvalue())
    expect(page.locator("#status")).to_have_text(
        "No barcode found in that photo; try closer and in focus."
    )

    choose_photo(page, "Scan", shelf_photo(GHEE_CODE, (800, 600)))
    expect(page.locator("#add-form").get_by_label("Barcode")).to_have_value(GHEE_CODE)
    offered = page.locator("#candidate-list li")
    expect(offered).to_have_count(1)
    expect(offered).to_contain_text("Amul Pure Ghee (Amul)")
    offered.get_by_role("button", name="Stock this").click()
    expect(row(page, "Amul Pure Ghee")).to_be_visible()
    assert StockItem.objects.filter(store=shop.store, product=shop.ghee).exists()


def test_a_live_camera_scan_reads_the_code_and_lets_the_camera_go(
    open_page, shop: Shop, open_dashboard
):
    page = open_page(viewport=PHONE, init_script=FAKE_CAMERA)
    open_dashboard(page)
    page.evaluate(f"window.shelfCode = {GHEE_CODE!r}")

    page.get_by_role("button", name="Scan", exact=True).click()
    expect(page.locator("#add-form").get_by_label("Barcode")).to_have_value(GHEE_CODE)
    expect(page.locator("#candidate-list li")).to_contain_text("Amul Pure Ghee (Amul)")
    expect(page.locator("#camera")).to_be_hidden()
    # The camera is released once the code is read (a phone's camera light goes out).
    assert page.evaluate("window.cameraStream.getTracks().map(t => t.readyState)") == ["ended"]
    assert "ean_13" in page.evaluate("window.detectorFormats")


def test_a_refused_camera_falls_back_to_a_photo(open_page, shop: Shop, open_dashboard):
    page = open_page(viewport=PHONE, init_script=FAKE_CAMERA + "window.cameraDenied = true;")
    open_dashboard(page)
    choose_photo(page, "Scan to count", shelf_photo(BUTTER_CODE, (800, 600)))
    expect(page.locator("#status")).to_have_text(f"Found {BUTTER_CODE}: type the counted quantity.")
    expect(page.locator("#camera")).to_be_hidden()


def test_the_dashboard_fits_a_phone_screen(open_page, shop: Shop, open_dashboard):
    page = open_page(viewport=PHONE)
    open_dashboard(page)
    # The dashboard itself (the site header is the base template's) stays inside the
    # screen, and its table needs no sideways scrolling for ordinary names.
    overflow = page.evaluate(
        """() => {
            const dashboard = document.getElementById("dashboard");
            const table = dashboard.querySelector(".table-scroll");
            let right = 0;
            for (const element of dashboard.querySelectorAll("*")) {
                if (element === table || !table.contains(element)) {
                    right = Math.max(right, element.getBoundingClientRect().right);
                }
            }
            return {
                dashboard: Math.max(0, right - innerWidth),
                table: table.scrollWidth - table.clientWidth,
            };
        }"""
    )
    assert overflow == {"dashboard": 0, "table": 0}, f"px beyond a phone screen: {overflow}"


def test_staff_cannot_open_another_stores_dashboard(page: Page, shop: Shop, open_dashboard):
    open_dashboard(page)
    response = page.goto(f"/stores/{shop.other.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("404")
    expect(page.get_by_text("Page not found.")).to_be_visible()
    expect(page.get_by_text(shop.other.name)).to_have_count(0)
    expect(page.get_by_text("Basmati")).to_have_count(0)


@pytest.mark.parametrize("width", [320, 375])
def test_on_a_small_phone_each_item_fits_the_screen_with_its_numbers_named(
    open_page, sign_in_as, shop: Shop, width
):
    # Even a long unbreakable name wraps: nothing scrolls sideways, neither the table in its
    # box nor the page (the header's hidden "Low stock" label included), and each of the
    # three numbers is on the screen under its own name.
    Product.objects.filter(pk=shop.butter.product_id).update(
        name="Amul-Pasteurised-Table-Butter-Value-Pack-Five-Hundred-Grams"
    )
    page = open_page(viewport={"width": width, "height": 800})
    sign_in_as(page, shop.staff)
    # The first page a fresh test server renders can be slow on a busy machine.
    page.goto(shop.url, timeout=30_000)
    expect(page.get_by_role("heading", level=1)).to_contain_text(shop.store.name)
    table_box = page.locator("#dashboard .table-scroll")
    assert table_box.evaluate("box => box.scrollWidth - box.clientWidth") <= 0
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    row = page.locator("tr", has=page.get_by_text("Amul-Pasteurised-Table-Butter"))
    for name in ("Quantity of", "Price of", "Reorder level of"):
        box = row.get_by_label(name).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, name
    names = row.locator("td.num").evaluate_all(
        "cells => cells.map(cell => getComputedStyle(cell, '::before').content)"
    )
    assert names == ['"Qty"', f'"Price ({shop.store.currency})"', '"Reorder at"']
