"""The C2PA Conforming Products List: which product a trusted signer's organisation makes.

Example::

    from provenance.verify.products import listed_product

    listed_product("Google LLC", "Pixel Camera")   # "Pixel Camera (version 68566598 and later)"

The list (``trustlists/conforming-products-list.json``) names each conformant product by the
distinguished name its signing certificates carry (``product.DN``: CN, O, OU). A signer whose
certificate organisation (O) matches is credited with the product whose CN matches its own, else
with the organisation's products. Read only when a trusted signer names an organisation.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from provenance.verify.trust_lists import BUNDLED

CPL_JSON = "conforming-products-list.json"
_MAX_NAMED = 3


def listed_product(org: str | None, common_name: str | None) -> str | None:
    """The product(s) the organisation ``org`` has on the list, or None if it has none."""
    if not org or not org.strip():
        return None
    mine = _by_org().get(_norm(org), [])
    if not mine:
        return None
    exact = [p for p in mine if _norm(p["cn"]) == _norm(common_name or "")]
    # One line per product: a product conformant in several versions is named by the first listed.
    named = list({(p["cn"], p["ou"]): p for p in reversed(exact or mine)}.values())[::-1]
    words = [_words(p) for p in named[:_MAX_NAMED]]
    more = len(named) - _MAX_NAMED
    return ", ".join(dict.fromkeys(words)) + (f" and {more} more" if more > 0 else "")


def _words(p: dict[str, str]) -> str:
    extras = [p["ou"]] if p["ou"] and p["ou"] != p["cn"] else []
    extras += [f"version {p['version']} and later"] if p["version"] else []
    name = p["cn"] or p["org"]
    return f"{name} ({', '.join(extras)})" if extras else name


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@functools.cache
def _by_org() -> dict[str, list[dict[str, str]]]:
    try:
        entries = json.loads((BUNDLED / CPL_JSON).read_text())
    except (OSError, ValueError):
        return {}
    out: dict[str, list[dict[str, str]]] = {}
    for e in entries if isinstance(entries, list) else []:
        p = _product(e)
        if p is not None:
            out.setdefault(_norm(p["org"]), []).append(p)
    return out


def _product(e: Any) -> dict[str, str] | None:
    if not isinstance(e, dict) or e.get("status") != "conformant":
        return None
    product = e.get("product")
    if not isinstance(product, dict):
        return None
    dn = product.get("DN")
    if not isinstance(dn, dict) or not str(dn.get("O") or "").strip():
        return None
    return {
        "org": str(dn.get("O")).strip(),
        "cn": str(dn.get("CN") or "").strip(),
        "ou": str(dn.get("OU") or "").strip(),
        "version": str(product.get("minVersion") or "").strip(),
    }
