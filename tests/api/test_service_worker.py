"""The service worker that keeps the app shell for a reload without a connection, as served."""

import json
import re

from fastapi.testclient import TestClient


def test_the_service_worker_is_served_at_the_root_with_the_shell_it_keeps(
    client: TestClient,
) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"  # an upgrade reaches every tablet
    script = response.text
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', script)
    assert version, script[:400]
    shell_line = re.search(r"const SHELL = (\[.*\]);", script)
    assert shell_line
    shell = json.loads(shell_line.group(1))
    for needed in ("/ward", "/sessions/0", "/static/js/session.js", "/static/css/vigil.css"):
        assert needed in shell
    assert "/static/vendor/plotly.min.js" in shell
    # Never a patient's data: no API path is part of the shell.
    assert not [path for path in shell if path.startswith("/api/")]
    # Every file it lists is one the server serves.
    for path in shell:
        assert client.get(path).status_code == 200, path
    # The same version for the same files (a new worker only after an upgrade).
    assert client.get("/sw.js").text == script
