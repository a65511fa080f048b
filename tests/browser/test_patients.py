"""The patients page: a nurse finds a patient (a "%" typed is a "%" found) and corrects the
record, seeing the change kept; an admin imports the clinic's list and reads which lines were
refused and why; a trainer is shown no patient; the page passes axe on a desktop and a phone."""

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from backend.core.roles import Role
from tests.browser.accessibility import axe_violations, describe
from tests.browser.conftest import DESKTOP, api_client, sign_in
from tests.conftest import LiveServer
from tests.helpers import chair_named

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def admin_client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with api_client(live_server.url, Role.ADMIN) as client:
        yield client


def register(client: httpx.Client, clinic_id: str, name: str) -> dict[str, object]:
    response = client.post("/api/patients", json={"clinic_id": clinic_id, "display_name": name})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def rows(page: Page) -> list[str]:
    return page.locator("#patients-body tr th").all_inner_texts()


def test_a_nurse_finds_a_patient_and_corrects_the_record(
    page: Page, live_server: LiveServer, nurse_api: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:6]
    register(nurse_api, f"MRN-{tag}-1", f"Ada 100% Byron {tag}")
    register(nurse_api, f"MRN-{tag}-2", f"Ada 1000 Byron {tag}")
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url, Role.NURSE)
    page.goto(f"{live_server.url}/patients")

    page.get_by_label("Find a patient").fill(f"0% byron {tag}")
    expect(page.locator("#patients-body tr")).to_have_count(1)
    assert rows(page) == [f"Ada 100% Byron {tag}"]
    page.get_by_label("Find a patient").fill(f"mrn-{tag}")
    expect(page.locator("#patients-body tr")).to_have_count(2)
    expect(page.locator("#patient-count")).to_have_text(f"2 matching “mrn-{tag}”")
    page.screenshot(path=str(SHOTS / "patients-1366.png"))

    page.get_by_role("button", name=f"Edit Ada 100% Byron {tag} (MRN-{tag}-1)").click()
    dialog = page.locator("#patient-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#history-message")).to_have_text(
        "No changes since the patient was registered."
    )
    # Onto the other patient's identifier, typed in another case: refused, naming them.
    dialog.get_by_label("Clinic ID").fill(f"mrn-{tag}-2")
    dialog.get_by_role("button", name="Save changes").click()
    error = dialog.locator("#clinic_id-error")
    expect(error).to_contain_text(f"Ada 1000 Byron {tag}")
    expect(dialog.get_by_label("Clinic ID")).to_have_attribute("aria-invalid", "true")

    dialog.get_by_label("Clinic ID").fill(f"MRN-{tag}-1")
    dialog.get_by_label("Name").fill(f"Ada Lovelace {tag}")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#patients-body")).to_contain_text(f"Ada Lovelace {tag}")

    page.get_by_role("button", name=f"Edit Ada Lovelace {tag} (MRN-{tag}-1)").click()
    history = dialog.locator("#history-list li")
    expect(history).to_have_count(1)
    expect(history).to_contain_text(
        f"test-nurse · Name: “Ada 100% Byron {tag}” → “Ada Lovelace {tag}”"
    )
    expect(history.locator("time")).to_have_text(
        re.compile(r"^\d{1,2} \w+ \d{4} \d\d:\d\d$")  # local day and time, 24-hour clock
    )
    page.screenshot(path=str(SHOTS / "patients-edit-dialog.png"))
    dialog.get_by_role("button", name="Cancel").click()

    page.set_viewport_size(PHONE)
    page.get_by_label("Find a patient").fill(f"mrn-{tag}")
    expect(page.locator("#patients-body tr")).to_have_count(2)
    page.screenshot(path=str(SHOTS / "patients-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # A nurse neither imports nor sees the import.
    expect(page.locator("#import-panel")).to_be_hidden()


def test_an_admin_imports_the_clinics_list_and_reads_the_refused_lines(
    page: Page, live_server: LiveServer, admin_client: httpx.Client, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    register(admin_client, f"K-{tag}-0", f"Already There {tag}")
    csv = tmp_path / "clinic.csv"
    csv.write_bytes(
        (
            "\ufeffClinic ID;Name;Date of birth\r\n"
            f"K-{tag}-1;Zoë Ångström {tag};1990-01-02\r\n"
            f"k-{tag}-0;Already There {tag};\r\n"
            f"K-{tag}-2;;\r\n"
            f"SIM-{tag};Pretend {tag};\r\n"
            f"K-{tag}-1;Twice {tag};\r\n"
        ).encode()
    )
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/patients")
    expect(page.locator("#import-panel")).to_be_visible()

    page.get_by_label("CSV file").set_input_files(str(csv))
    page.get_by_label("Check only").check()
    page.get_by_role("button", name="Import", exact=True).click()
    summary = page.locator("#report-summary")
    expect(summary).to_contain_text("Check only, nothing was registered")
    expect(summary).to_contain_text("1 would be registered, 1 already registered, 3 refused")
    assert admin_client.get("/api/patients", params={"q": f"K-{tag}-1"}).json() == []

    page.get_by_label("Check only").uncheck()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(summary).to_contain_text("5 rows read: 1 registered, 1 already registered, 3 refused")
    refused = page.locator("#report-rejected tr")
    expect(refused).to_have_count(3)
    expect(refused.nth(0)).to_contain_text("4")
    expect(refused.nth(0)).to_contain_text("Name")
    expect(refused.nth(0)).to_contain_text("is empty")
    expect(refused.nth(1)).to_contain_text("SIM-")
    expect(refused.nth(2)).to_contain_text("repeats the identifier of line 2")
    # The date of birth column is read (patients/csv_import.py), so no column is left out.
    expect(summary).not_to_contain_text("Columns not imported")
    page.locator("#report-created-wrap summary").click()
    expect(page.locator("#report-created")).to_contain_text("2 Jan 1990")
    page.locator("#report-present-wrap summary").click()
    expect(page.locator("#report-present")).to_contain_text(f"Already There {tag}")
    page.locator("#import-report").screenshot(path=str(SHOTS / "patients-import-report.png"))
    page.screenshot(path=str(SHOTS / "patients-import-1366.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / "patients-import-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)
    # The list shows the patient just registered.
    page.get_by_label("Find a patient").fill(f"k-{tag}-1")
    expect(page.locator("#patients-body tr th")).to_have_text([f"Zoë Ångström {tag}"])
    expect(page.locator("#patients-body tr .born")).to_contain_text("2 Jan 1990 · ")

    # A file that is not UTF-8: nothing imported, the reason by the file field.
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(f"clinic_id,display_name\nL-{tag},M\xfcller\n".encode("latin-1"))
    page.get_by_label("CSV file").set_input_files(str(latin))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-file-error")).to_contain_text("Line 2: the file is not UTF-8")
    expect(page.locator("#import-report")).to_be_hidden()


def test_a_trainer_is_shown_no_patient(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server.url, Role.TRAINER)
    page.goto(f"{live_server.url}/patients")
    expect(page.locator("#trainer-note")).to_be_visible()
    expect(page.locator("#patients-ui")).to_be_hidden()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_patients_page_passes_axe(
    page: Page, live_server: LiveServer, admin_client: httpx.Client, viewport: ViewportSize
) -> None:
    register(admin_client, f"AXE-{uuid.uuid4().hex[:6]}", "Axe Check")
    page.set_viewport_size(viewport)
    sign_in(page, live_server.url, Role.ADMIN)
    page.goto(f"{live_server.url}/patients?q=axe-")
    expect(page.locator("#patients-body tr").first).to_be_visible()
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_a_trainer_starts_a_drill_from_the_ward_on_a_patient_of_its_own(
    page: Page, live_server: LiveServer, admin_client: httpx.Client
) -> None:
    """The ward's dialog offers a trainer no search of the register (which refuses them) but a
    new patient, registered as simulated."""
    tag = uuid.uuid4().hex[:6]
    sign_in(page, live_server.url, Role.TRAINER)
    chair_id = chair_named(admin_client, f"Chair {tag}")  # configured before the dialog opens
    page.goto(f"{live_server.url}/ward")
    page.click("#start-open")
    dialog = page.locator("#start-dialog")
    expect(dialog.locator("#patient-search")).to_be_hidden()
    expect(dialog.locator("#patient-mode-row")).to_be_hidden()
    page.fill("#clinic_id", f"DRILL-{tag}")
    page.fill("#display_name", f"Drill Patient {tag}")
    page.select_option("#chair_id", str(chair_id))
    page.click("#start-submit")
    page.wait_for_url(f"{live_server.url}/sessions/*", wait_until="commit")  # its URL is enough
    session_id = page.url.rsplit("/", 1)[1]
    started = admin_client.get(f"/api/sessions/{session_id}").json()
    assert (started["simulated"], started["patient"]["simulated"]) == (True, True)
    assert started["patient"]["clinic_id"] == f"DRILL-{tag}"
    stopped = admin_client.post(
        f"/api/sessions/{session_id}/phase", json={"phase": "stopped", "note": "test tidy-up"}
    )
    assert stopped.is_success, stopped.text
