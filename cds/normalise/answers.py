"""Qualitative results -> answer tokens (``positive``, ``negative``, ``trace``, ``1+``..``4+``, ``I``..``IV``)
and performance-score answers -> numbers.

Order of evidence for a coded concept: valueCodeableConcept codings (system+code), then its displays/text and
valueString (whole string, case-insensitive), then a quantity (dipstick grade steps; viral load > 0 is
positive, a ``<`` limit is negative), then valueInteger (NYHA 1-4), and last Observation.interpretation
(POS/NEG/DET/ND, and H/A vs N/L as a last resort).
"""

from __future__ import annotations

import re
from typing import Any

from cds.mappings import AnswerSet, LabConcept, Mappings, norm_code
from cds.normalise.common import as_dict, as_list, codings, texts
from cds.normalise.units import convert_quantity, number

_PUNCT = re.compile(r"[\s.:;]+$")


def _clean(text: str) -> str:
    return _PUNCT.sub("", text.strip().lower())


def token_from_strings(strings: list[str], answers: AnswerSet) -> str | None:
    for text in strings:
        if not isinstance(text, str):
            continue
        # whole string; "Positive (qualifier value)" -> "positive"; "HBsAg: Negative" -> "negative"
        for candidate in (
            text.strip().lower(),
            _clean(text),
            _clean(text.split("(")[0]),
            _clean(text.rsplit(":", 1)[-1]),
        ):
            hit = answers.by_string.get(candidate)
            if hit:
                return hit
    return None


def token_from_codings(cc: Any, answers: AnswerSet, mappings: Mappings) -> str | None:
    for system, code in codings(cc):
        alias = mappings.aliases.alias(system)
        if alias is None:
            continue
        hit = answers.by_code.get((alias, norm_code(alias, code)))
        if hit:
            return hit
    return None


def token_from_quantity(
    quantity: Any, concept: LabConcept, answers: AnswerSet
) -> tuple[str | None, str | None]:
    """(token, problem) from a valueQuantity for a coded concept."""
    q = as_dict(quantity)
    comparator = q.get("comparator")
    if answers.grades and answers.grade_units is not None:
        conv = convert_quantity({k: v for k, v in q.items() if k != "comparator"}, answers.grade_units)
        if conv.value is None:
            return None, conv.problem
        for below, token in answers.grades:
            if below is None or conv.value < below:
                return token, None
        return None, "value outside the grading table"
    if concept.quantity_positive_above is not None:
        value = number(q.get("value"))
        if value is None:
            return None, "value is not a usable number"
        if comparator in ("<", "<="):
            return "negative", None
        if value < 0:
            return None, "negative viral load"
        return ("positive" if value > concept.quantity_positive_above else "negative"), None
    return None, "a quantity cannot be read as a qualitative answer"


def token_from_interpretation(obs: dict[str, Any], answers: AnswerSet) -> str | None:
    for cc in as_list(obs.get("interpretation")):
        for _system, code in codings(cc):
            if isinstance(code, str):
                hit = answers.by_interpretation.get(code.strip().upper())
                if hit:
                    return hit
        hit = token_from_strings(texts(cc), answers)
        if hit:
            return hit
    return None


def read_coded(
    holder: dict[str, Any], obs: dict[str, Any], concept: LabConcept, mappings: Mappings
) -> tuple[str | None, str | None, str]:
    """(token, problem, original text) for a coded concept from an Observation or component ``holder``."""
    answers = mappings.answer_sets[concept.answers or ""]
    if "valueCodeableConcept" in holder:
        cc = holder["valueCodeableConcept"]
        shown = ", ".join(texts(cc)) or ", ".join(str(c) for _s, c in codings(cc))
        token = token_from_codings(cc, answers, mappings) or token_from_strings(texts(cc), answers)
        if token:
            return token, None, shown
    if "valueString" in holder:
        token = token_from_strings([holder["valueString"]], answers)
        if token:
            return token, None, str(holder["valueString"])[:80]
    if "valueQuantity" in holder:
        token, problem = token_from_quantity(holder["valueQuantity"], concept, answers)
        q = as_dict(holder["valueQuantity"])
        shown = f"{q.get('comparator', '')}{q.get('value')} {q.get('unit') or q.get('code') or ''}".strip()
        if token or problem:
            return token, problem, shown
    if "valueInteger" in holder:
        value = holder["valueInteger"]
        if isinstance(value, int) and not isinstance(value, bool) and value in answers.integers:
            return answers.integers[value], None, str(value)
    if holder is obs or "interpretation" in holder:
        token = token_from_interpretation(holder, answers)
        if token:
            return token, None, "interpretation"
    original = ""
    for key in ("valueCodeableConcept", "valueString", "valueInteger", "valueBoolean"):
        if key in holder:
            original = str(holder[key])[:80]
            return None, f"unrecognised answer for {concept.name}", original
    return None, "no value", original


def read_score(
    holder: dict[str, Any], concept: LabConcept, mappings: Mappings
) -> tuple[float | None, str | None, str]:
    """(score, problem, original) for a performance-score concept."""
    value: float | None = None
    original = ""
    if "valueInteger" in holder:
        original = str(holder["valueInteger"])
        value = number(holder["valueInteger"])
    elif "valueQuantity" in holder:
        q = as_dict(holder["valueQuantity"])
        original = f"{q.get('value')} {q.get('unit') or q.get('code') or ''}".strip()
        if concept.units is not None:
            conv = convert_quantity(q, concept.units)
            if conv.value is None:
                return None, conv.problem, original
            value = conv.value
    elif "valueCodeableConcept" in holder:
        cc = holder["valueCodeableConcept"]
        original = ", ".join(texts(cc)) or ", ".join(str(c) for _s, c in codings(cc))
        for system, code in codings(cc):
            alias = mappings.aliases.alias(system)
            if alias and (alias, norm_code(alias, code)) in concept.answer_scores:
                value = concept.answer_scores[(alias, norm_code(alias, code))]
                break
        if value is None:
            value = _number_in_text(texts(cc))
    elif "valueString" in holder:
        original = str(holder["valueString"])[:80]
        value = _number_in_text([holder["valueString"]])
    else:
        return None, "no value", original
    if value is None:
        return None, f"unrecognised {concept.name} value", original
    if concept.score_range and not (concept.score_range[0] <= value <= concept.score_range[1]):
        return (
            None,
            f"{concept.name} score {value:g} outside {concept.score_range[0]:g}-{concept.score_range[1]:g}",
            original,
        )
    return value, None, original


_NUMBER_RE = re.compile(r"(?<![\d.])(\d{1,3})(?![\d.])")


def _number_in_text(strings: list[Any]) -> float | None:
    """The score in a short text ("70", "Karnofsky 70%", "ECOG 1 - restricted"); None when it holds no number or
    several different ones ("ECOG 2 (0-5)")."""
    for text in strings:
        if isinstance(text, str) and len(text) <= 80:
            numbers = set(_NUMBER_RE.findall(text))
            if len(numbers) == 1:
                return float(numbers.pop())
    return None
