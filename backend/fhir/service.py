"""Reading the session's record for its FHIR export: the same record the report and the CSV are
made from (`reports.service.current_record`), read once."""

from sqlalchemy.orm import Session

from backend.core.settings import Settings
from backend.devices.service import labels_for_session, sent_codes
from backend.fhir.rules import Json, session_bundle
from backend.reports.record import SessionRecord
from backend.reports.service import current_record


def export(db: Session, session_id: int, settings: Settings) -> tuple[SessionRecord, Json]:
    """The session's record and its FHIR Bundle (NotFound if there is no such session)."""
    record = current_record(db, session_id, settings)
    bundle = session_bundle(record, sent_codes(db, session_id), labels_for_session(db, session_id))
    return record, bundle
