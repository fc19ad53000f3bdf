"""The demo's item master, drawn from real products of Health Canada's Drug Product Database.

Names, forms, strengths, routes, ATC codes and controlled status come from the extract in
``../shared/data/product_master/health_canada_dpd_sample.csv``. The identifiers are US-style and
synthetic (NDC, GTIN), since the demo network is a US hospital and retail pharmacy.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import numpy as np

import rxledger
from rxledger.demo.codes import NdcAllocator, case_gtin
from rxledger.domain.identifiers import Ndc
from rxledger.domain.model import DeaSchedule, FormularyStatus, StorageClass
from rxledger.services.catalog import NewItem, PackageSpec

DPD_SAMPLE = Path("product_master") / "health_canada_dpd_sample.csv"
SHARED_DATA_ENV = "RXLEDGER_SHARED_DATA"


def shared_data_dir() -> Path:
    """``$RXLEDGER_SHARED_DATA`` if set, else ``../shared/data`` beside the project root."""
    explicit = os.environ.get(SHARED_DATA_ENV)
    if explicit:
        return Path(explicit)
    project_root = Path(rxledger.__file__).resolve().parents[2]  # src/rxledger/__init__.py
    return project_root.parent / "shared" / "data"


class ProductKind(StrEnum):
    SOLID = "solid"  # tablets, capsules: counted in units
    LIQUID = "liquid"  # oral liquids: counted in mL
    PARENTERAL = "parenteral"  # vials, ampoules, syringes, pens
    PATCH = "patch"
    OTHER = "other"  # tubes, bottles, inhalers, suppositories: counted each


@dataclass(frozen=True, slots=True)
class Ingredient:
    name: str
    strength: str


@dataclass(frozen=True, slots=True)
class DpdProduct:
    """One row of the Drug Product Database extract, parsed."""

    drug_code: int
    brand_name: str
    schedules: str
    form: str
    routes: tuple[str, ...]
    atc_code: str
    ingredients: tuple[Ingredient, ...]
    company: str
    package_info: str


@dataclass(frozen=True, slots=True)
class DemoProduct:
    """An item of the demo: its master data and what the history walk needs to know of it."""

    spec: NewItem
    kind: ProductKind
    refrigerated: bool
    otc: bool
    parenteral: bool
    hospital_only: bool
    package_units: int
    manufacturer: str

    @property
    def controlled(self) -> bool:
        return self.spec.dea_schedule is not None


# --- reading the extract ------------------------------------------------------------------------

_PARENTERAL_PREFIXES = ("INTRA", "SUBCUTANEOUS", "EPIDURAL", "BLOCK/INFILTRATION")
_EXCLUDED_ROUTES = {"DIALYSIS", "0-UNASSIGNED", "IRRIGATION", "DISINFECTANT"}
_EXCLUDED_ATC = ("V01", "V04", "V07", "V08", "V09")  # allergen extracts, diagnostics, media
_INGREDIENT = re.compile(r"^(?P<name>.*?)\s+(?P<amount>\.?\d[\d.,]*)\s*(?P<unit>.*)$")


def read_products(path: Path) -> list[DpdProduct]:
    """Every row of the extract a pharmacy would stock, in drug-code order."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    products = [p for p in (_parse(row) for row in rows) if p is not None]
    return sorted(products, key=lambda p: p.drug_code)


def _parse(row: dict[str, str]) -> DpdProduct | None:
    """Skip kits, dialysis and diagnostic products, and combinations of more than three."""
    routes = tuple(r.strip() for r in row["routes"].split(";") if r.strip())
    forms = [f.strip() for f in row["pharmaceutical_forms"].split(";") if f.strip()]
    atc = row["atc_code"].strip()
    ingredients = tuple(_ingredient(i) for i in row["active_ingredients"].split("|"))
    if (
        not routes
        or not forms
        or not atc
        or atc.startswith(_EXCLUDED_ATC)
        or any(r in _EXCLUDED_ROUTES for r in routes)
        or any("KIT" in f for f in forms)
        or not 1 <= len(ingredients) <= 3
        or any(i.strength == "" for i in ingredients)
    ):
        return None
    return DpdProduct(
        drug_code=int(row["drug_code"]),
        brand_name=row["brand_name"].strip(),
        schedules=row["schedules"].strip(),
        form=forms[0],
        routes=routes,
        atc_code=atc,
        ingredients=ingredients,
        company=row["company_name"].strip(),
        package_info=row["package_product_information"].strip().upper(),
    )


def _ingredient(text: str) -> Ingredient:
    """``OXYCODONE HYDROCHLORIDE 5 MG`` -> name and strength; no strength when none is given."""
    match = _INGREDIENT.match(text.strip())
    if match is None:
        return Ingredient(text.strip(), "")
    amount = match["amount"].rstrip(".,")
    amount = "0" + amount if amount.startswith(".") else amount
    return Ingredient(match["name"].strip(), f"{amount} {_unit(match['unit'])}".strip())


def _unit(text: str) -> str:
    """Strength units in the usual lower case: ``MG/ ML`` -> ``mg/mL``, ``UNIT`` -> ``unit``."""
    unit = re.sub(r"\s*/\s*", "/", text.strip()).lower()
    unit = re.sub(r"\bml\b", "mL", unit)
    unit = re.sub(r"%/(w/[wv])", r"% \1", unit.replace("%/%", "%"))
    return re.sub(r"\bl\b", "L", unit)


# --- controlled schedules -----------------------------------------------------------------------
#
# Health Canada's schedules say *that* a product is controlled; the US Controlled Substances Act
# schedules the *substance*. The mapping used here:
#   Narcotic (CDSA I/II): opioids (morphine, oxycodone, hydromorphone, fentanyl, methadone,
#       tapentadol, hydrocodone, meperidine, remifentanil, sufentanil), single-entity codeine and
#       nabilone                                                   -> CII
#     but buprenorphine and ketamine                               -> CIII
#         codeine in a combination tablet or capsule (Tylenol #3)  -> CIII
#         codeine in a combination syrup or elixir                 -> CV
#         diphenoxylate with atropine (Lomotil)                    -> CV
#         pentazocine                                              -> CIV
#   Schedule G (CDSA I and III): amphetamines, lisdexamfetamine, methylphenidate -> CII
#     but sodium oxybate                                           -> CIII
#   Schedule G (CDSA IV): phenobarbital, butorphanol               -> CIV
#     but testosterone (anabolic steroid) and butalbital combinations -> CIII
#         nalbuphine (not scheduled under the CSA)                 -> not controlled
#   Targeted (CDSA IV): benzodiazepines, zolpidem, pipradrol       -> CIV

_SUBSTANCE_RULES: tuple[tuple[str, DeaSchedule | None], ...] = (
    ("DIPHENOXYLATE", DeaSchedule.CV),
    ("BUPRENORPHINE", DeaSchedule.CIII),
    ("KETAMINE", DeaSchedule.CIII),
    ("SODIUM OXYBATE", DeaSchedule.CIII),
    ("TESTOSTERONE", DeaSchedule.CIII),
    ("BUTALBITAL", DeaSchedule.CIII),
    ("PENTAZOCINE", DeaSchedule.CIV),
    ("BUTORPHANOL", DeaSchedule.CIV),
    ("NALBUPHINE", None),
)
_LIQUID_FORMS = ("SOLUTION", "SYRUP", "SUSPENSION", "LIQUID", "ELIXIR", "DROPS", "EMULSION")


def dea_schedule(product: DpdProduct) -> DeaSchedule | None:
    """The US schedule of a product from its Canadian schedule and its substances (see above)."""
    schedules = product.schedules
    if not any(s in schedules for s in ("Narcotic", "Schedule G", "Targeted")):
        return None
    names = " + ".join(i.name for i in product.ingredients)
    for substance, schedule in _SUBSTANCE_RULES:
        if substance in names:
            return schedule
    if "CODEINE" in names and len(product.ingredients) > 1:
        return DeaSchedule.CV if _base_form(product.form) in _LIQUID_FORMS else DeaSchedule.CIII
    if "Targeted" in schedules or "CDSA IV" in schedules:
        return DeaSchedule.CIV
    return DeaSchedule.CII


def is_refrigerated(product: DpdProduct) -> bool:
    """Insulins, GLP-1 agonists, vaccines and injectable biologics (Schedule D) go in the fridge."""
    if product.atc_code.startswith(("A10A", "A10BJ", "J07")):
        return True
    return "Schedule D" in product.schedules and is_parenteral(product)


def is_parenteral(product: DpdProduct) -> bool:
    return any(r.startswith(_PARENTERAL_PREFIXES) for r in product.routes)


def is_hospital_only(product: DpdProduct) -> bool:
    """Products a retail pharmacy does not stock: infusions and anaesthetics."""
    if product.atc_code.startswith(("N01", "B05", "L01", "V03")):
        return True
    return (
        is_parenteral(product) and "INTRAVENOUS" in product.routes and not is_refrigerated(product)
    )


# --- choosing the demo's items ------------------------------------------------------------------


def select_products(
    products: Sequence[DpdProduct], count: int, rng: np.random.Generator
) -> list[DpdProduct]:
    """About a fifth controlled, a few refrigerated, the rest general stock; no duplicate names."""
    unique = _distinct_by_name(products)
    controlled = [p for p in unique if dea_schedule(p) is not None]
    cold = [p for p in unique if dea_schedule(p) is None and is_refrigerated(p)]
    general = [p for p in unique if dea_schedule(p) is None and not is_refrigerated(p)]
    want_controlled = min(len(controlled), max(1, round(count * 0.2)))
    want_cold = min(len(cold), max(1, round(count * 0.07)))
    chosen = _draw(controlled, want_controlled, rng) + _draw(cold, want_cold, rng)
    chosen += _draw(general, min(len(general), count - len(chosen)), rng)
    return sorted(chosen, key=lambda p: p.drug_code)


def _distinct_by_name(products: Iterable[DpdProduct]) -> list[DpdProduct]:
    seen: set[str] = set()
    distinct = []
    for product in products:
        key = item_name(product).lower()
        if key not in seen:
            seen.add(key)
            distinct.append(product)
    return distinct


def _draw(pool: Sequence[DpdProduct], count: int, rng: np.random.Generator) -> list[DpdProduct]:
    if count <= 0:
        return []
    picks = rng.choice(len(pool), size=count, replace=False)
    return [pool[int(i)] for i in sorted(picks)]


# --- names --------------------------------------------------------------------------------------

_NAME_TAIL = {
    "TAB", "TABS", "TABLET", "TABLETS", "CAP", "CAPS", "CAPSULE", "CAPSULES", "USP", "INJ",
    "INJECTION", "LIQ", "SYR", "SRC", "SOLUTION", "-",
}  # fmt: skip
_UPPER_WORDS = {
    "CR",
    "XR",
    "SR",
    "ER",
    "XL",
    "LA",
    "CD",
    "ODT",
    "IR",
    "HCT",
    "DS",
    "HP",
    "PMS",
    "II",
}


def item_name(product: DpdProduct) -> str:
    """``OXY.IR`` + ``5 mg`` + ``tablet``; the brand without the strength it often carries."""
    return f"{_brand(product)} {strength(product)} {dosage_form(product)}"


def _brand(product: DpdProduct) -> str:
    words: list[str] = []
    for word in product.brand_name.replace("(", " ").replace(")", " ").split():
        if any(c.isdigit() for c in word):
            break
        words.append(word)
    while words and words[-1].upper() in _NAME_TAIL:
        words.pop()
    if not words:
        words = product.ingredients[0].name.split("(", 1)[0].split()[:2]
    return " ".join(_word(w) for w in words[:4])


def _word(word: str) -> str:
    """Capitalize each hyphenated part, but keep release suffixes (CR, XR, ODT) in capitals."""
    if word.upper() in _UPPER_WORDS:
        return word.upper()
    return "-".join(part.capitalize() for part in word.split("-"))


def generic_name(product: DpdProduct) -> str:
    return " / ".join(i.name.lower() for i in product.ingredients)[:300]


def strength(product: DpdProduct) -> str:
    return " / ".join(i.strength for i in product.ingredients)[:120]


def dosage_form(product: DpdProduct) -> str:
    """``TABLET (EXTENDED-RELEASE)`` -> ``extended-release tablet``."""
    base = _base_form(product.form).lower()
    if "(" in product.form:
        qualifier = product.form.split("(", 1)[1].rstrip(")").strip().lower()
        return f"{qualifier} {base}"
    return base


def _base_form(form: str) -> str:
    return form.split("(", 1)[0].strip()


# --- pack hierarchy and base units --------------------------------------------------------------


def product_kind(product: DpdProduct) -> ProductKind:
    base = _base_form(product.form)
    if base.startswith(("TABLET", "CAPSULE", "LOZENGE", "WAFER")):
        return ProductKind.SOLID
    if base == "PATCH":
        return ProductKind.PATCH
    if is_parenteral(product):
        return ProductKind.PARENTERAL
    if "ORAL" in product.routes and base in _LIQUID_FORMS:
        return ProductKind.LIQUID
    return ProductKind.OTHER


_SIMPLE_UNITS = {ProductKind.LIQUID: "mL", ProductKind.PATCH: "patch"}
_PARENTERAL_UNITS = (
    ("PEN", "pen"),
    ("CARTR", "cartridge"),
    ("SYR", "syringe"),
    ("PFS", "syringe"),
    ("IMPLANT", "implant"),
)


def base_unit(product: DpdProduct, kind: ProductKind) -> str:
    """What one base unit is: a tablet, a mL of oral liquid, a vial, a pen, a tube, ..."""
    base = _base_form(product.form)
    if kind is ProductKind.SOLID:
        return "capsule" if base.startswith("CAPSULE") else "tablet"
    if kind in _SIMPLE_UNITS:
        return _SIMPLE_UNITS[kind]
    if kind is ProductKind.PARENTERAL:
        info = f"{product.package_info} {product.brand_name} {base}"
        return next((unit for marker, unit in _PARENTERAL_UNITS if marker in info), "vial")
    return _other_unit(product, base)


def _other_unit(product: DpdProduct, base: str) -> str:
    """Topicals come in tubes, inhaled powders and aerosols in inhalers, the rest in bottles."""
    if base.startswith(("CREAM", "OINTMENT", "GEL", "PASTE")):
        return "tube"
    if base.startswith("SUPPOSITORY"):
        return "suppository"
    if "AEROSOL" in base or ("INHALATION" in product.routes and "POWDER" in base):
        return "inhaler"
    return "bottle"


def package_units(product: DpdProduct, kind: ProductKind) -> int:
    """Base units in the labelled package: a bottle of 100, a 250 mL bottle, a box of 10 vials."""
    info = product.package_info
    counts = [int(c) for c in re.findall(r"(?<![\d.])(\d+)(?![\d.]|\s*(?:ML|L|X|G|MG))", info)]
    if kind is ProductKind.SOLID:
        sizes = [c for c in counts if 20 <= c <= 1000]
        return 100 if 100 in sizes or not sizes else sizes[0]
    if kind is ProductKind.LIQUID:
        volumes = [
            round(float(v) * (1000 if u == "L" else 1))
            for v, u in re.findall(r"(\d+(?:\.\d+)?)\s*(ML|L)\b", info)
        ]
        volumes = [v for v in volumes if 30 <= v <= 1000]
        return volumes[0] if volumes else 100
    multipack = re.search(r"(\d+)\s*X", info)
    if kind is ProductKind.PARENTERAL:
        return int(multipack[1]) if multipack and 1 <= int(multipack[1]) <= 25 else 10
    if kind is ProductKind.PATCH:
        sizes = [c for c in counts if 2 <= c <= 30]
        return sizes[0] if sizes else 5
    return 12 if base_unit(product, kind) == "suppository" else 6


def _packages(
    product: DpdProduct, kind: ProductKind, unit: str, ndc_text: str
) -> list[PackageSpec]:
    """Unit (1), the labelled package with the NDC's GTIN, and a case with indicator digit 1."""
    ndc = Ndc.parse(ndc_text)
    size = package_units(product, kind)
    container = {ProductKind.SOLID: "bottle", ProductKind.LIQUID: "bottle"}.get(kind, "box")
    per_case = 6 if size >= 500 else 12
    return [
        PackageSpec("unit", 1, description=unit),
        PackageSpec(
            "package",
            size,
            gtin=ndc.to_gtin(),
            ndc10=ndc.ndc10,
            description=f"{container} of {size} {unit}",
        ),
        PackageSpec(
            "case",
            size * per_case,
            gtin=case_gtin(ndc),
            description=f"case of {per_case} x {container} of {size}",
        ),
    ]


# --- costs --------------------------------------------------------------------------------------

# Median standard cost per base unit (USD) and the spread (sigma of the log) by kind of product.
_COSTS: dict[str, tuple[float, float]] = {
    "solid": (0.22, 1.0),
    "liquid": (0.06, 0.8),
    "parenteral": (14.0, 1.0),
    "patch": (7.0, 0.7),
    "other": (9.0, 0.7),
    "controlled": (0.65, 0.9),
    "biologic": (420.0, 1.0),
    "vaccine": (48.0, 0.5),
    "insulin": (38.0, 0.4),
}


def standard_cost(product: DpdProduct, kind: ProductKind, rng: np.random.Generator) -> Decimal:
    """A lognormal draw around the median of the product's cost class, to 1/100 of a cent."""
    cost_class: str = kind.value
    if product.atc_code.startswith("J07"):
        cost_class = "vaccine"
    elif product.atc_code.startswith(("A10A", "A10BJ")):
        cost_class = "insulin"
    elif "Schedule D" in product.schedules:
        cost_class = "biologic"
    elif dea_schedule(product) is not None and kind is ProductKind.SOLID:
        cost_class = "controlled"
    median, sigma = _COSTS[cost_class]
    value = median * math.exp(float(rng.normal(0.0, sigma)))
    return Decimal(f"{max(value, 0.005):.4f}")


def formulary_status(product: DpdProduct, rng: np.random.Generator) -> FormularyStatus:
    """Biologics and anaesthetic controlled drugs are restricted; a few others non-formulary."""
    if "Schedule D" in product.schedules or product.atc_code.startswith("N01"):
        return FormularyStatus.RESTRICTED
    return FormularyStatus.NON_FORMULARY if rng.random() < 0.08 else FormularyStatus.FORMULARY


# --- the demo product ---------------------------------------------------------------------------


def demo_product(
    product: DpdProduct, number: int, rng: np.random.Generator, ndcs: NdcAllocator
) -> DemoProduct:
    """The item-to-create for one extract row, with a synthetic NDC and its package GTINs."""
    kind = product_kind(product)
    unit = base_unit(product, kind)
    schedule = dea_schedule(product)
    refrigerated = is_refrigerated(product)
    manufacturer = _company(product.company)
    ndc = ndcs.allocate(manufacturer).ndc10
    storage = (
        StorageClass.CONTROLLED
        if schedule is not None
        else StorageClass.REFRIGERATED
        if refrigerated
        else StorageClass.ROOM
    )
    spec = NewItem(
        sku=f"RH{number:05d}",
        name=item_name(product)[:300],
        base_unit=unit,
        generic_name=generic_name(product),
        strength=strength(product),
        dosage_form=dosage_form(product)[:120],
        route=", ".join(r.lower() for r in product.routes)[:120],
        ndc10=ndc,
        dea_schedule=schedule,
        storage_class=storage,
        formulary_status=formulary_status(product, rng),
        atc_code=product.atc_code[:10],
        standard_cost=standard_cost(product, kind, rng),
        packages=tuple(_packages(product, kind, unit, ndc)),
    )
    return DemoProduct(
        spec=spec,
        kind=kind,
        refrigerated=refrigerated and schedule is None,
        otc=product.schedules == "OTC",
        parenteral=is_parenteral(product),
        hospital_only=is_hospital_only(product),
        package_units=package_units(product, kind),
        manufacturer=manufacturer,
    )


def _company(name: str) -> str:
    """``SANDOZ CANADA INCORPORATED`` -> ``Sandoz Canada Incorporated``."""
    return " ".join(w.capitalize() for w in name.split())[:200] or "Unknown manufacturer"


def load_demo_products(
    count: int, rng: np.random.Generator, data_dir: Path | None = None
) -> list[DemoProduct]:
    """Read the extract, choose ``count`` products and turn them into demo items."""
    path = (data_dir or shared_data_dir()) / DPD_SAMPLE
    if not path.is_file():
        raise FileNotFoundError(
            f"the product master extract is missing at {path}; set {SHARED_DATA_ENV} to the "
            "shared data directory"
        )
    chosen = select_products(read_products(path), count, rng)
    ndcs = NdcAllocator(rng)
    return [demo_product(p, n, rng, ndcs) for n, p in enumerate(chosen, start=1)]
