"""A failing Hebrew check message as JupyterLab shows an error (a left-to-right <pre> in an
output area), in Debian's Chromium: the shapes in it keep their order. Cheap: no server, no
kernel, just the output's markup and the browser's own bidirectional layout."""

from __future__ import annotations

import html
from pathlib import Path

from grader.checks import messages
from tests.support.browser import chromium, needs_chromium

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "autograded" / "hebrew-check-message-browser.png"

pytestmark = needs_chromium

#: Where a character is drawn: the left edge of its one-character range.
_LEFT_OF = """([text, index]) => {
  const node = document.querySelector('pre').firstChild;
  const range = document.createRange();
  range.setStart(node, index); range.setEnd(node, index + 1);
  return range.getBoundingClientRect().left;
}"""


def _output_page(text: str) -> str:
    return (
        '<html><body style="font-family: sans-serif"><div class="jp-OutputArea-output" '
        'data-mime-type="application/vnd.jupyter.stderr">'
        '<pre style="direction: ltr; text-align: left; font-size: 20px; background: #fdd; '
        f'padding: 8px">{html.escape(text)}</pre></div></body></html>'
    )


def test_hebrew_check_message_keeps_shapes_in_order() -> None:
    messages.set_language("he")
    try:
        message = messages.say("value-shape", check="test-shape", name="w", want=(5, 2), got=(3, 2))
    finally:
        messages.set_language("en")
    plain = messages.MESSAGES["value-shape"]["he"].format(
        check="test-shape", name="w", want=(5, 2), got=(3, 2)
    )
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 120})

        def order(text: str) -> list[float]:
            page.set_content(_output_page("AssertionError: " + text))
            full = "AssertionError: " + text
            start = full.index("(5, 2)")
            return [page.evaluate(_LEFT_OF, [full, start + i]) for i in (1, 4)]  # "5", "2"

        five, two = order(plain)
        assert five > two, "without isolates the shape should be turned around"
        five, two = order(message)
        assert five < two, "the isolated shape reads (5, 2), left to right"
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 3_000
