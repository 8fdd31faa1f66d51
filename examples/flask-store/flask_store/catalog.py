"""What the store sells. A real store keeps this in its database; the loyalty side only needs a
line's SKU, quantity and unit price."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from loyalty_sdk.core.errors import InvalidInput


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    price: Decimal


PRODUCTS = {
    product.sku: product
    for product in (
        Product("beans-house", "House blend beans, 250 g", Decimal("18.00")),
        Product("beans-single", "Single origin beans, 250 g", Decimal("24.50")),
        Product("mug", "Harbour mug", Decimal("12.00")),
    )
}


def product(sku: str) -> Product:
    try:
        return PRODUCTS[sku]
    except KeyError:
        raise InvalidInput(f"sku {sku!r} is not a product of this store", field="sku", value=sku) from None
