"""Reading what an element looks like when the page may redraw it at any moment."""

from typing import Any

from playwright.sync_api import Locator

# How long to look for the element before the test fails (a passing test finds it at once).
FIND_TRIES = 150
TRY_EVERY_MS = 100


def on_element(locator: Locator, expression: str) -> Any:
    """Run the JavaScript function `expression` on the one element `locator` finds, finding it
    and running the function in one step. `locator.evaluate` finds the element and then, in a
    second round trip, runs the function on it: a live update that redraws the element between
    the two (the ward and the session page redraw on every event) leaves it a detached node,
    whose computed style is all '' and whose box is all zeros, and a test judging that fails
    on a page that looks right (CI failed so once). `evaluate_all` queries and runs in one
    task of the page, so it always sees the element on screen; retried until there is one."""
    call = f"(els) => els.length === 1 ? {{ value: ({expression})(els[0]) }} : null"
    for _ in range(FIND_TRIES):
        found = locator.evaluate_all(call)
        if found is not None:
            return found["value"]
        locator.page.wait_for_timeout(TRY_EVERY_MS)
    raise AssertionError(f"{locator} did not find exactly one element")
