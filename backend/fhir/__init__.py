"""FHIR R4 export of a session's record (issue 17)."""
