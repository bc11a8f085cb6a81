"""One evaluator module per rule kind; importing this package registers them all (see ``cds.engine.registry``)."""

from cds.engine.rules import (  # noqa: F401
    age,
    allergy,
    coded,
    condition,
    exposure,
    lab,
    other_malignancy,
    performance,
    research,
    review,
    sex,
    steroid_dose,
)
