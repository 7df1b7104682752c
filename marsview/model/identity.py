"""Which loaded object is which: the one rule that says two ephemerides describe the same body. Qt-free.

A delivered ephemeris replaces the previous ephemeris of the same object, and a trend follows an encounter
across deliveries whose files may name the objects differently ("MRO" in one team's OEM, "MARS
RECONNAISSANCE ORBITER" with OBJECT_ID -74 in the next). The rule, in order:

1. both carry a NAIF ID: same object iff the IDs are equal (a differing ID is never overridden by the name);
2. both carry a COSPAR designator (e.g. ``2005-029A``): same object iff they are equal, ignoring case/blanks;
3. otherwise: same object iff the names are equal once case, blanks, ``-`` and ``_`` are ignored.

Objects are anything with ``name`` and optionally ``naif_id`` / ``cospar_id`` attributes (ScenarioObject,
or :class:`Identity`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COSPAR = re.compile(r"^\d{4}-\d{3}[A-Z]{1,3}$")
_NAME_NOISE = re.compile(r"[\s_\-]+")


@dataclass(frozen=True)
class Identity:
    name: str
    naif_id: int | None = None
    cospar_id: str | None = None


def identity_of(obj) -> Identity:
    """The Identity of OBJ (a ScenarioObject, an Identity, or a dict with these keys)."""
    get = obj.get if isinstance(obj, dict) else (lambda k, d=None: getattr(obj, k, d))
    naif = get("naif_id", None)
    return Identity(str(get("name")), None if naif is None else int(naif), normalized_cospar(get("cospar_id", None)))


def normalized_cospar(text) -> str | None:
    """``2005-029A`` from ' 2005-029a ', None for anything that is not a COSPAR international designator."""
    if text is None:
        return None
    value = re.sub(r"\s+", "", str(text)).upper()
    return value if _COSPAR.match(value) else None


def normalized_name(name: str) -> str:
    return _NAME_NOISE.sub("", str(name)).casefold()


def same_object(a, b) -> bool:
    """True when A and B describe the same body (rule in the module docstring)."""
    a, b = identity_of(a), identity_of(b)
    if a.naif_id is not None and b.naif_id is not None:
        return a.naif_id == b.naif_id
    if a.cospar_id is not None and b.cospar_id is not None:
        return a.cospar_id == b.cospar_id
    return normalized_name(a.name) == normalized_name(b.name)


def find_same_object(obj, candidates) -> int | None:
    """Index of the candidate that is the same body as OBJ: an ID match first, then a COSPAR match, then a
    name match (never a candidate whose ID contradicts OBJ's); None when there is none."""
    me = identity_of(obj)
    others = [identity_of(c) for c in candidates]
    if me.naif_id is not None:
        for k, o in enumerate(others):
            if o.naif_id == me.naif_id:
                return k
    if me.cospar_id is not None:
        for k, o in enumerate(others):
            if o.cospar_id == me.cospar_id and (o.naif_id is None or me.naif_id is None):
                return k
    for k, o in enumerate(others):
        if same_object(me, o):
            return k
    return None
