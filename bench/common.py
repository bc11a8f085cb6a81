"""What every benchmark part shares: the run context and the figures it reports."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bench.machine import load_average
from bench.service import Signer


@dataclass
class Figure:
    """One measured figure, its target (if the issue sets one) and whether it was met."""

    part: str
    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""

    def line(self) -> str:
        verdict = "" if self.ok is None else ("  PASS" if self.ok else "  FAIL")
        target = f"  (target {self.target})" if self.target else ""
        note = f"  [{self.note}]" if self.note else ""
        value = (
            f"{self.value:.2f}"
            if isinstance(self.value, float) and not math.isnan(self.value)
            else str(self.value)
        )
        return f"  {self.name}: {value} {self.unit}{target}{verdict}{note}"


@dataclass
class Context:
    workdir: Path
    signer: Signer
    quick: bool
    today: dt.date = field(default_factory=dt.date.today)
    profile_out: Path | None = None
    figures: list[Figure] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @cached_property
    def catalogue(self) -> Any:
        from bench.service import freeze_startup_heap
        from cds.config import Config
        from cds.pipeline import load_catalogue

        catalogue = load_catalogue(Config())
        freeze_startup_heap()  # as the production server does once the catalogue is loaded
        return catalogue

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def report(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure

    def say(self, text: str) -> None:
        print(f"  {text}", flush=True)

    def heading(self, title: str) -> None:
        print(f"\n== {title}  (load average {load_average():.2f})", flush=True)

    def to_json(self) -> str:
        return json.dumps(
            {"figures": [asdict(f) for f in self.figures], "tables": self.tables}, indent=2, default=str
        )
