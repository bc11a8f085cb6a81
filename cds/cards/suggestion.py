"""The "flag as candidate" suggestion: a FHIR R4 ResearchSubject create action, or the existing flag.

The resource is ``ResearchSubject`` with status ``candidate``, ``individual`` = ``Patient/<id>`` and ``study``
a *logical* reference to the ``ResearchStudy`` (``type`` + ``identifier`` with the NCT id in the system
``https://clinicaltrials.gov`` + ``display``): the service cannot know the EHR's ResearchStudy id, and the
identifier is what the normaliser matches on later. It is validated with ``fhir.resources.R4B`` before it is
offered (once per trial, see :func:`study_part_is_valid`); if it does not validate, or the patient id is not a
FHIR id, no suggestion is offered.

A ResearchSubject already recorded for this patient and trial (any status) replaces the suggestion with the
note "already flagged on <date>"; the date is the earliest recorded start among such records.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fhir.resources.R4B.researchsubject import ResearchSubject
from pydantic import ValidationError

from cds.cards.markdown import one_line
from cds.cards.templates import Templates
from cds.facts import FuzzyDate, PatientFacts, ResearchFact
from cds.raw import FHIR_ID
from cds.trials import Trial

log = logging.getLogger(__name__)

REGISTRY_SYSTEM = "https://clinicaltrials.gov"
_STAND_IN_ID = "x"  # any id that matches FHIR_ID


@dataclass(frozen=True)
class ExistingFlag:
    """A ResearchSubject already recorded for this patient and trial."""

    status: str
    date: FuzzyDate | None


def _same_study(study: str, nct: str) -> bool:
    study = study.strip().casefold()
    nct = nct.casefold()
    return study == nct or study.endswith("/" + nct) or study.endswith("|" + nct)


def existing_flag(facts: PatientFacts, nct: str) -> ExistingFlag | None:
    matches: list[ResearchFact] = [r for r in facts.research if _same_study(r.study, nct)]
    if not matches:
        return None
    dated = sorted((r for r in matches if r.start is not None), key=lambda r: r.start.earliest)  # type: ignore[union-attr]
    first = dated[0] if dated else matches[0]
    return ExistingFlag(status=first.status, date=first.start)


def _resource(nct: str, display: str, patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "ResearchSubject",
        "status": "candidate",
        "study": {
            "type": "ResearchStudy",
            "identifier": {"system": REGISTRY_SYSTEM, "value": nct},
            "display": display,
        },
        "individual": {"reference": f"Patient/{patient_id}"},
    }


@lru_cache(maxsize=256)
def study_part_is_valid(nct: str, display: str) -> bool:
    """Whether the candidate ResearchSubject for this study passes R4B validation, for any FHIR patient id.

    The patient enters the resource only as ``individual.reference`` = ``Patient/<id>``, an R4B ``string``
    (non-empty, no control characters) that every id matching ``FHIR_ID`` gives; so the verdict depends on
    the trial alone and is worked out once per trial (catalogue data) with a stand-in id. Tests check it
    against full validation with real ids.
    """
    try:
        ResearchSubject.model_validate(_resource(nct, display, _STAND_IN_ID))
    except ValidationError:
        return False
    return True


def research_subject(trial: Trial, patient_id: str) -> dict[str, Any] | None:
    """The candidate ResearchSubject for this patient and trial, or None if it would not be valid FHIR."""
    if not FHIR_ID.fullmatch(patient_id or ""):
        log.warning("patient id is not a FHIR id; no candidate suggestion for %s", trial.id)
        return None
    display = one_line(trial.short_title)
    if not study_part_is_valid(trial.id, display):
        log.warning("candidate ResearchSubject for %s failed R4B validation; no suggestion", trial.id)
        return None
    return _resource(trial.id, display, patient_id)


def build_suggestion(trial: Trial, facts: PatientFacts, templates: Templates) -> dict[str, Any] | None:
    """The suggestion object for a card (with its own uuid), or None when none can be offered."""
    resource = research_subject(trial, facts.patient_id)
    if resource is None:
        return None
    title = one_line(trial.short_title)
    return {
        "label": templates.text("suggestion_label", title=title, nct=trial.id),
        "uuid": str(uuid.uuid4()),
        "actions": [
            {
                "type": "create",
                "description": templates.text("action_description", title=title, nct=trial.id),
                "resource": resource,
            }
        ],
    }
