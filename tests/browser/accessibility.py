"""axe-core (from the npm registry, see tests/browser/axe/package.json) run inside a page."""

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, the level clinics' accessibility policies ask for.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def axe_violations(page: Page, *, exclude: list[str] | None = None) -> list[dict[str, Any]]:
    """The serious and critical WCAG violations axe finds on the page as it is now."""
    if not AXE.exists():
        raise AssertionError(f"axe-core is missing at {AXE}: run `make test` (it installs it)")
    # Evaluated through the DevTools protocol, which the page's Content-Security-Policy (scripts
    # only from 'self') does not govern; a <script> tag would be refused.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result: dict[str, Any] = page.evaluate(
        """async ([tags, exclude]) => {
            const context = exclude.length ? { exclude: exclude.map((s) => [s]) } : document;
            return await window.axe.run(context, { runOnly: { type: "tag", values: tags } });
        }""",
        [TAGS, exclude or []],
    )
    return [v for v in result["violations"] if v.get("impact") in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable list: rule, impact, and the first elements that break it."""
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"][:4]]
        summary = v["nodes"][0].get("failureSummary", "").replace("\n", " ")
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {targets} — {summary}")
    return "\n".join(lines)
