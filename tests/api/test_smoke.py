from fastapi.testclient import TestClient

from tests.helpers import new_session, post_reading


def test_a_nurse_records_a_reading_and_reads_it_back(nurse: TestClient) -> None:
    session = new_session(nurse)
    response = post_reading(nurse, session["id"], heart_rate=80, systolic=120, diastolic=80)
    assert response.status_code == 201, response.text
    page = nurse.get(f"/api/sessions/{session['id']}/readings").json()
    assert [r["heart_rate"] for r in page["items"]] == [80]
