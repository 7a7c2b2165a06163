"""Sample data for every message template, one module per feature; merged here.

Each module defines SAMPLES: template name → a list of contexts to render it with. Use hostile
and long values on purpose (names with markup, long titles), so limits and escaping are tested.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

SAMPLES: dict[str, list[dict[str, Any]]] = {}
for _module in pkgutil.iter_modules(__path__):
    _samples = importlib.import_module(f"{__name__}.{_module.name}").SAMPLES
    if overlap := SAMPLES.keys() & _samples.keys():
        raise ValueError(f"samples defined twice: {sorted(overlap)}")
    SAMPLES.update(_samples)
