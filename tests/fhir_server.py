"""Real FHIR R4 server fixture (placeholder until the gather issue lands)."""
