"""The pages themselves, as served."""

import re

from fastapi.testclient import TestClient

from backend.frontend import NAV, NAV_PLACEHOLDER, PLOTLY_JS


def test_the_sign_in_form_can_never_send_the_password_in_the_address(
    client: TestClient,
) -> None:
    page = client.get("/login").text
    assert 'method="post"' in page
    assert re.search(r'<button[^>]*id="login-submit"[^>]*disabled', page)


def test_the_limits_page_is_served_with_its_own_script_and_styles(client: TestClient) -> None:
    response = client.get("/limits")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<script type="module" src="/static/js/limits-admin.js"></script>' in page
    assert 'href="/static/css/limits-admin.css"' in page
    assert '<a href="/limits" aria-current="page">Limits</a>' in page
    # The page's script is a file of its own: the CSP allows no inline script or handler.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    assert client.get("/static/js/limits-admin.js").status_code == 200


def test_the_trainer_console_is_served_with_its_own_script_and_styles(client: TestClient) -> None:
    response = client.get("/trainer")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<script type="module" src="/static/js/trainer.js"></script>' in page
    assert 'href="/static/css/trainer.css"' in page
    assert '<a href="/trainer" aria-current="page">Trainer</a>' in page
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    assert re.search(r"\sstyle=", page) is None
    for module in ("trainer.js", "sim-card.js", "sim-events.js"):
        assert client.get(f"/static/js/{module}").status_code == 200


def test_plotly_is_served_compressed_once_and_revalidated_by_etag(client: TestClient) -> None:
    """plotly.js is 4.8 MB: it goes out gzipped (compressed once, not per page) and a browser
    that has it asks with its ETag and gets a 304 instead of the file again."""
    bundled = PLOTLY_JS.read_bytes()
    first = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    assert first.headers["content-encoding"] == "gzip"
    assert first.headers["content-type"].startswith("text/javascript")
    assert first.headers["cache-control"] == "no-cache"
    assert "Accept-Encoding" in first.headers["vary"]
    assert first.content == bundled  # httpx undid the gzip: the package's own file
    assert int(first.headers["content-length"]) < len(bundled) / 3

    etag = first.headers["etag"]
    again = client.get("/static/vendor/plotly.min.js", headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == etag
    weak = client.get("/static/vendor/plotly.min.js", headers={"If-None-Match": f'"x", W/{etag}'})
    assert weak.status_code == 304
    stale = client.get("/static/vendor/plotly.min.js", headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200

    plain = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == bundled
    assert plain.headers["vary"] == "Accept-Encoding"
    # Another coding, another strong validator (RFC 9110 8.8.3); either revalidates.
    assert plain.headers["etag"] != etag
    again = client.get(
        "/static/vendor/plotly.min.js",
        headers={"Accept-Encoding": "identity", "If-None-Match": plain.headers["etag"]},
    )
    assert again.status_code == 304

    head = client.head("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert (head.status_code, head.headers["etag"]) == (200, etag)


def test_the_record_viewer_is_served_and_frames_the_record_without_scripts(
    client: TestClient,
) -> None:
    response = client.get("/sessions/7/record")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<script type="module" src="/static/js/record.js"></script>' in page
    assert 'href="/static/css/alarm-strip.css"' in page
    frame = re.search(r"<iframe[^>]*>", page)
    assert frame is not None and 'sandbox="' in frame.group(0)
    assert "allow-scripts" not in frame.group(0)  # the record itself runs no script
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    for module in ("record.js", "page-alarms.js", "alarm-strip.js"):
        assert client.get(f"/static/js/{module}").status_code == 200
    assert client.get("/sessions/x/record").status_code == 422


def test_the_sites_page_is_served_with_its_own_script_and_styles(client: TestClient) -> None:
    response = client.get("/sites")
    assert response.status_code == 200
    page = response.text
    assert '<script type="module" src="/static/js/sites.js"></script>' in page
    assert 'href="/static/css/sites.css"' in page
    assert 'href="/sites" aria-current="page"' in page
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    for name in ("js/sites.js", "css/sites.css", "js/chair-picker.js", "js/ward-place.js"):
        assert client.get(f"/static/{name}").status_code == 200


def test_every_page_has_the_same_header_links_with_its_own_marked(client: TestClient) -> None:
    """The links are written once (NAV) and put in each page as it is served."""
    pages: dict[str, str | None] = {"/ward": "/ward", "/patients": "/patients"}
    pages |= {"/limits": "/limits", "/audit": "/audit"}
    pages |= {"/trainer": "/trainer", "/sites": "/sites", "/accounts": "/accounts"}
    pages |= {"/password": None, "/sessions/1": None, "/sessions/1/record": None}
    pages |= {"/patients/1/course": "/patients", "/alarm-review": "/alarm-review"}
    pages |= {"/rems": "/rems", "/sessions/1/rems": "/rems"}
    for address, current in pages.items():
        page = client.get(address).text
        assert NAV_PLACEHOLDER not in page, address
        assert "<!-- part:" not in page, address  # each shared part put in its place
        assert page.count('<header class="app-header">') == 1, address
        assert page.count('id="link-banner"') == 1, address
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page)
        assert nav is not None, address
        hrefs = re.findall(r'href="([^"]+)"', nav.group(1))
        assert hrefs == [link.href for link in NAV], address
        marked = re.findall(r'href="([^"]+)" aria-current="page"', nav.group(1))
        assert marked == ([current] if current else []), address
    assert '<a href="/audit" data-roles="admin" hidden>Audit</a>' in client.get("/ward").text


def test_a_page_is_revalidated_by_its_etag(client: TestClient) -> None:
    first = client.get("/ward")
    again = client.get("/ward", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "no-cache"
