"""The store dashboard's flash-sale forms: they only read what was typed (numbers, and times
in the store's own time zone); every rule of a sale is `sale_management`'s, and its refusals
come back here as errors on the field they are about, in the owner's words."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shelfwatch.errors import DomainError
from shelfwatch.http.bounds import INT32_MAX
from shelfwatch.inventory.models import StockItem
from shelfwatch.shop.page_wording import problem_message

# What <input type="datetime-local"> sends and shows: minutes, no zone (the page names it).
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def _required() -> dict:
    return {"required": gettext_lazy("Fill this in.")}


# Years a typed time may fall in: outside them, the time moved to UTC for the database
# (up to 14 hours either way) could leave the years a datetime can hold.
YEARS = (2000, 9998)


class LocalDateTimeField(forms.DateTimeField):
    """A time typed in the active (the store's) time zone, within YEARS."""

    def to_python(self, value):
        try:
            moment = super().to_python(value)
        except forms.ValidationError as exc:
            if exc.code != "ambiguous_timezone":
                raise
            # Django's own wording names the zone object; an owner needs the way out.
            raise forms.ValidationError(
                self.error_messages["clock_change"], code="clock_change"
            ) from None
        if moment is not None and not YEARS[0] <= moment.year <= YEARS[1]:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return moment


def _when() -> forms.DateTimeField:
    return LocalDateTimeField(
        input_formats=[LOCAL_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        error_messages={
            **_required(),
            "invalid": gettext_lazy("Pick a date and time, such as 2026-12-24 18:00."),
            "overflow": gettext_lazy("Pick a date and time, such as 2026-12-24 18:00."),
            "clock_change": gettext_lazy(
                "The clocks change at that time in the store's time zone, so it is skipped or "
                "happens twice: pick a time an hour earlier or later."
            ),
        },
    )


def _whole(label: str, *, initial: int | None = None) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        initial=initial,
        # The columns' range on every database (PostgreSQL's integer), not SQLite's 64 bits.
        max_value=INT32_MAX,
        widget=forms.NumberInput(attrs={"min": "1", "step": "1", "inputmode": "numeric"}),
        error_messages={**_required(), "invalid": gettext_lazy("Type a whole number, such as 20.")},
    )


class SaleForm(forms.Form):
    """A sale's price, units, limit and window (what an existing sale can change)."""

    title = forms.CharField(label=gettext_lazy("Title (optional)"), required=False)
    sale_price = forms.DecimalField(
        label=gettext_lazy("Sale price"),
        widget=forms.NumberInput(attrs={"min": "0", "step": "0.01", "inputmode": "decimal"}),
        error_messages={
            **_required(),
            "invalid": gettext_lazy("Type a price such as 199.00."),
        },
    )
    quantity_allotted = _whole(gettext_lazy("Units at the sale price"))
    per_customer_limit = _whole(gettext_lazy("Most units one customer may buy"), initial=1)
    starts_at = _when()
    ends_at = _when()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].label = _("Starts")
        self.fields["ends_at"].label = _("Ends")

    def describe_problems(self) -> None:
        """Point each refused field at its error text, so a screen reader reads it out."""
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = f"{self[name].auto_id}_problem"

    def changes(self, sale) -> dict:
        """The typed values that differ from `sale`'s, for `update_flash_sale`. A time the
        form shows to the minute counts as unchanged when that minute is the sale's, so
        saving a price does not move (and announce again) the window."""
        changed = {}
        for name in ("title", "sale_price", "quantity_allotted", "per_customer_limit"):
            if self.cleaned_data[name] != getattr(sale, name):
                changed[name] = self.cleaned_data[name]
        for name in ("starts_at", "ends_at"):
            current = getattr(sale, name).replace(second=0, microsecond=0)
            if self.cleaned_data[name] != current:
                changed[name] = self.cleaned_data[name]
        return changed


class NewSaleForm(SaleForm):
    """A new sale: also which of the store's priced products it sells."""

    product = forms.TypedChoiceField(
        label=gettext_lazy("Product"),
        coerce=int,
        error_messages={
            **_required(),
            "invalid_choice": gettext_lazy("Choose one of this store's products."),
        },
    )

    field_order = ["product"]

    def __init__(self, *args, items: list[StockItem], currency: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", _("Choose a product…"))] + [
            (
                item.product_id,
                _("%(name)s · regular %(currency)s %(price)s · %(count)s in stock")
                % {
                    "name": item.product.name,
                    "currency": currency,
                    "price": item.selling_price,
                    "count": item.quantity,
                },
            )
            for item in items
        ]


def _quantity_field(form: SaleForm) -> str:
    """Which of the two counts the service's "at least one" refusal is about."""
    allotted = form.cleaned_data.get("quantity_allotted")
    return "quantity_allotted" if allotted is None or allotted < 1 else "per_customer_limit"


def add_service_error(form: SaleForm, exc: DomainError, *, currency: str) -> None:
    """Show a refusal of `create_flash_sale` / `update_flash_sale` on the form: beside the
    field it is about where there is one, in plain words."""
    code = exc.code
    if code == "invalid_sale_window":
        form.add_error("ends_at", _("The sale must end after it starts."))
    elif code == "invalid_sale_price":
        form.add_error("sale_price", _("The sale price cannot be below 0."))
    elif code == "sale_price_not_below_regular":
        form.add_error(
            "sale_price",
            _("The sale price must be lower than the regular price, %(currency)s %(price)s.")
            % {"currency": currency, "price": exc.extra.get("regular_price", "")},
        )
    elif code == "invalid_sale_quantity":
        if _quantity_field(form) == "quantity_allotted":
            form.add_error("quantity_allotted", _("Put at least 1 unit on sale."))
        else:
            form.add_error("per_customer_limit", _("Allow at least 1 unit per customer."))
    elif code == "allotment_below_taken":
        form.add_error(
            "quantity_allotted",
            _("%(taken)s units are already sold or held in carts: put at least that many on sale.")
            % {"taken": exc.extra.get("taken", "")},
        )
    elif code == "product_not_sold" and "product" in form.fields:
        form.add_error("product", _("This store does not sell that product at a price now."))
    elif exc.extra.get("errors"):
        # The model's own checks (sizes and digits), in Django's words, by field.
        for name, messages in exc.extra["errors"].items():
            field = name if name in form.fields else None
            for message in messages:
                form.add_error(field, message)
    else:
        form.add_error(None, problem_message(exc))
