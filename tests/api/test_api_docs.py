"""The interactive API docs work offline: every asset comes from this server."""

import re

from fastapi.testclient import TestClient


def test_the_docs_page_loads_only_assets_this_server_serves(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources, page.text
    for source in sources:
        assert source.startswith("/"), f"{source} would need the internet"
        assert client.get(source).status_code == 200, source
