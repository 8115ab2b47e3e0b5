"""Demo catalog: heating and water products with service intervals, upgrade paths, rates."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from simple_history.utils import bulk_create_with_history

from rapport.catalog.choices import ProductKind
from rapport.catalog.models import ExchangeRate, Product
from rapport.core.demo import DemoContext, register

P, S = ProductKind.PRODUCT, ProductKind.SERVICE
# sku, name, category, kind, price, service interval (days), warranty (months), upgrade to
PRODUCTS = [
    ("BOIL-CL-24", "Classic gas boiler 24 kW", "Boilers", P, "1890.00", 365, 24, "BOIL-ECO-24"),
    ("BOIL-ECO-24", "Eco condensing boiler 24 kW", "Boilers", P, "2690.00", 365, 36, "HP-AIR-8"),
    ("BOIL-ECO-35", "Eco condensing boiler 35 kW", "Boilers", P, "3290.00", 365, 36, "HP-AIR-12"),
    ("HP-AIR-8", "Air source heat pump 8 kW", "Heat pumps", P, "8900.00", 365, 60, ""),
    ("HP-AIR-12", "Air source heat pump 12 kW", "Heat pumps", P, "11900.00", 365, 60, ""),
    ("SOFT-20", "Water softener 20 l", "Water", P, "1290.00", 365, 24, "SOFT-30"),
    ("SOFT-30", "Water softener 30 l", "Water", P, "1690.00", 365, 24, ""),
    ("FLT-WTR", "Water filter cartridge", "Filters", P, "39.90", 180, None, ""),
    ("FLT-AIR", "Heat pump air filter", "Filters", P, "59.00", 180, None, ""),
    ("FLT-MAG", "Magnetic system filter", "Filters", P, "149.00", 365, 12, ""),
    ("SALT-25", "Softener salt 25 kg", "Consumables", P, "14.90", None, None, ""),
    ("THERM-SM", "Smart thermostat", "Controls", P, "249.00", None, 24, ""),
    ("THERM-RAD", "Radiator thermostat head", "Controls", P, "49.00", None, 24, ""),
    ("TANK-200", "Hot water tank 200 l", "Hot water", P, "1450.00", 730, 60, ""),
    ("SOLAR-2", "Solar thermal kit (2 panels)", "Solar", P, "3900.00", 730, 60, ""),
    ("SVC-INST", "Installation", "Services", S, "650.00", None, None, ""),
    ("SVC-MAINT", "Annual maintenance visit", "Services", S, "149.00", None, None, ""),
    ("SVC-REPAIR", "Repair call-out", "Services", S, "95.00", None, None, ""),
    ("SVC-FLUSH", "System power flush", "Services", S, "390.00", None, None, ""),
]
# Units sold with a yearly contract (remote monitoring, app subscription): months per term.
RENEWAL_MONTHS = {"HP-AIR-8": 12, "HP-AIR-12": 12, "THERM-SM": 12}
# What goes with what: shown as complementary products, used by the demo's repeat orders.
RELATED = [
    ("BOIL-CL-24", "FLT-MAG"), ("BOIL-ECO-24", "FLT-MAG"), ("BOIL-ECO-35", "FLT-MAG"),
    ("BOIL-ECO-24", "THERM-SM"), ("HP-AIR-8", "FLT-AIR"), ("HP-AIR-12", "FLT-AIR"),
    ("SOFT-20", "SALT-25"), ("SOFT-30", "SALT-25"), ("SOFT-20", "FLT-WTR"),
    ("HP-AIR-8", "THERM-SM"), ("TANK-200", "SOLAR-2"),
]  # fmt: skip
# Currencies some customers pay in, with a rough value in EUR to walk around monthly.
RATES = {"USD": Decimal("0.92"), "GBP": Decimal("1.16"), "CHF": Decimal("1.04")}


@register(25, "catalog")
def load(context: DemoContext) -> None:
    products = [
        Product(
            sku=sku,
            name=name,
            category=category,
            kind=kind,
            unit_price=Decimal(price),
            currency="EUR",
            service_interval_days=interval,
            warranty_months=warranty,
            renewal_months=RENEWAL_MONTHS.get(sku),
            created_at=context.now - timedelta(days=3 * 365 + 30),
            updated_at=context.now - timedelta(days=3 * 365 + 30),
        )
        for sku, name, category, kind, price, interval, warranty, _ in PRODUCTS
    ]
    bulk_create_with_history(products, Product, default_change_reason="Demo data")
    by_sku = {product.sku: product for product in Product.objects.all()}
    upgrades = []
    for sku, *_, upgrade in PRODUCTS:
        if upgrade:
            by_sku[sku].upgrade_to = by_sku[upgrade]
            upgrades.append(by_sku[sku])
    Product.objects.bulk_update(upgrades, ["upgrade_to"])
    through = Product.related.through
    through.objects.bulk_create(
        [
            through(from_product=by_sku[a], to_product=by_sku[b])
            for pair in RELATED
            for a, b in (pair, pair[::-1])
        ]
    )
    rates = _monthly_rates(context)
    bulk_create_with_history(rates, ExchangeRate, default_change_reason="Demo data")
    context.made["products"] = by_sku
    context.say(f"  {len(products)} products, {len(rates)} exchange rates")


def _monthly_rates(context: DemoContext) -> list[ExchangeRate]:
    """A small random walk per currency, one rate on the first of each month."""
    today = context.now.date()
    month = date(today.year - 3, today.month, 1)
    values = dict(RATES)
    rows = []
    while month <= today:
        for currency, value in values.items():
            step = Decimal(context.rng.randint(-150, 150)) / Decimal(10000)
            values[currency] = (value * (1 + step)).quantize(Decimal("0.0001"))
            rows.append(ExchangeRate(currency=currency, rate=values[currency], valid_from=month))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return rows
