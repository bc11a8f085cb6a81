"""Evaluate one rule dict: compile it (``cds.engine.plan``) and evaluate the compiled node.

The engine itself evaluates trials through their cached compiled form; this entry point serves single
rules (tests, tools). Bad input never raises out of the engine: an unknown kind or an evaluator error
becomes ``review`` / ``unknown`` with a plain reason (and a log line without patient data).
"""

from __future__ import annotations

from typing import Any

from cds.engine.context import Context
from cds.engine.plan import compile_rule, evaluate_node
from cds.results import Outcome


def evaluate_rule(rule: dict[str, Any], ctx: Context) -> Outcome:
    return evaluate_node(compile_rule(rule), ctx)
