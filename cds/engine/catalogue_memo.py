"""Values derived from one catalogue object (the mappings, a trial), computed once and kept while it lives.

A rule's checks against the mapping catalogue (is a name declared unmapped?) and a trial's compiled rules
(``cds.engine.plan.compiled_trial``) depend on catalogue objects alone, never on the patient, so they are worth
keeping across calls. Catalogue objects are read-only after loading (``cds.mappings.Mappings``, ``Trial``); a
test stub must not be changed once it has been used.

The table is found by the object's ``id()`` and holds a weak reference, so it goes when its object does and a
reused ``id()`` is never mistaken for it. An object that cannot
be weakly referenced gets a fresh table each time (nothing is kept).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

_TABLES: dict[int, tuple[weakref.ref[Any], dict[Any, Any]]] = {}
_LOCK = threading.Lock()


def memo_for(catalogue: object) -> dict[Any, Any]:
    """The memo table of ``catalogue`` (callers key it by what they derive, e.g. ``("unmapped", kind, names)``)."""
    key = id(catalogue)
    entry = _TABLES.get(key)
    if entry is not None and entry[0]() is catalogue:
        return entry[1]

    # bound here: at interpreter exit the module's globals may already be None when the catalogue goes
    def forget(_: weakref.ref[Any], tables: dict[int, Any] = _TABLES, lock: Any = _LOCK) -> None:
        with lock:
            if tables.get(key, (None,))[0] is ref:
                del tables[key]

    try:
        ref = weakref.ref(catalogue, forget)
    except TypeError:
        return {}
    table: dict[Any, Any] = {}
    with _LOCK:
        _TABLES[key] = (ref, table)
    return table
