"""End to end in Debian's Chromium (Playwright for Python, no browser download): a student
takes the Hebrew pre-quiz through a personal link on a real uvicorn server."""

from __future__ import annotations

from pathlib import Path

from tests.support import ROOT
from tests.support.browser import chromium, needs_chromium
from tests.support.quiz import INSTRUCTOR

SCREENSHOT = ROOT / "autograded" / "quiz-browser-he.png"


@needs_chromium
def test_hebrew_pre_quiz_end_to_end(live, token, bank):
    quiz = bank["frameworks-pre"]
    link = f"{live['url']}/quiz/frameworks-pre?token={token('browser-student')}"
    with chromium() as browser:
        page = browser.new_page(locale="he-IL")
        page.goto(link)
        page.click("#lang-he")  # the language picker
        page.wait_for_selector("#quiz-form")
        assert page.evaluate("document.documentElement.lang") == "he"
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        legend = page.locator("#q-q01 legend")
        assert page.evaluate("e => getComputedStyle(e).direction", legend.element_handle()) == "rtl"
        # a number that cannot be read is named, in Hebrew, and nothing is sent: the one
        # attempt of the pre-quiz is not spent on a typing slip
        page.fill("#in-q04", "0.6.")
        page.click("#submit")
        page.wait_for_selector("#error:not([hidden])")
        said = page.inner_text("#error")
        assert said.startswith("שאלה 4:") and "0.6." in said and "לא נשלחו" in said, said
        assert page.get_attribute("#in-q04", "aria-invalid") == "true"
        assert live["store"].attempts("frameworks-pre", "browser-student") == []
        # answer: every question right except q02 (a wrong option); q03, -6, typed with the
        # minus sign the quiz texts use and a right-to-left keyboard's direction mark
        for q in quiz.questions:
            if q.type == "numeric":
                page.fill(f"#in-{q.id}", "\u200f\u22126" if q.id == "q03" else f"{q.answer:g}")
                continue
            chosen = q.correct_ids if q.id != "q02" else ("a",)
            for oid in chosen:
                page.check(f'#q-{q.id} input[value="{oid}"]')
        page.click("#submit")
        result = page.wait_for_selector("#result-1 .score")
        expected = quiz.max_score - 1  # q02 is worth 1 point
        score = f"{expected:g} / {quiz.max_score:g}"
        assert result.inner_text() == score
        first, last = page.evaluate(_SPAN_X, ["#result-1 .score", score])
        assert first < last, f"the score {score!r} reads right to left"
        wrong = page.locator('#result-1 li.q-result.wrong[data-question="q02"]')
        assert wrong.count() == 1
        assert "לא:" in wrong.inner_text()  # the Hebrew per-option feedback is shown
        assert page.locator("#attempts-left").inner_text() == "0"
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    stored = live["store"].attempts("frameworks-pre", "browser-student")
    assert [(a.number, a.lang, a.score) for a in stored] == [(1, "he", quiz.max_score - 1)]


@needs_chromium
def test_instructor_signs_in_once_and_every_dashboard_link_works_by_clicking(live):
    with chromium() as browser:
        page = browser.new_context(accept_downloads=True).new_page()
        page.goto(f"{live['url']}/instructor")
        page.fill("#instructor-token", INSTRUCTOR)
        page.click("#sign-in")
        page.wait_for_selector("#logout-form")
        assert page.url == f"{live['url']}/instructor"  # no token in the address
        assert page.evaluate("document.cookie") == ""  # HttpOnly: scripts cannot read it
        with page.expect_download() as download:
            page.click("#export-frameworks-pre")
        assert download.value.suggested_filename == "frameworks-pre-attempts.csv"
        csv_text = Path(download.value.path()).read_text(encoding="utf-8")
        assert csv_text.startswith("student,attempt,submitted_at,score,max_score,q01,")
        page.click("#stats-json")
        assert "frameworks-post" in page.inner_text("body")
        page.go_back()
        page.click("#sign-out")
        page.wait_for_selector("#login-form")
        page.goto(f"{live['url']}/api/instructor/stats")
        assert "sign in" in page.inner_text("body")  # the cookie is gone


CODE_SCREENSHOT = ROOT / "autograded" / "quiz-browser-he-code.png"

#: Where in the layout a piece of text starts and ends (x of its first and last character).
_SPAN_X = """([selector, piece]) => {
  const el = document.querySelector(selector);
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(piece);
    if (at < 0) { continue; }
    const x = (i) => { const r = document.createRange(); r.setStart(node, i);
                       r.setEnd(node, i + 1); return r.getBoundingClientRect().left; };
    return [x(at), x(at + piece.length - 1)];
  }
  return null;
}"""


@needs_chromium
def test_hebrew_quiz_page_shows_code_and_shapes_left_to_right(live, token):
    """In the right-to-left page, code inside Hebrew reads left to right as written."""
    student = token("bidi-student", "frameworks-post")
    link = f"{live['url']}/quiz/frameworks-post?token={student}&lang=he"
    with chromium() as browser:
        page = browser.new_page(locale="he-IL", viewport={"width": 900, "height": 900})
        page.goto(link)
        page.wait_for_selector("#quiz-form")
        checks = [
            ("#q-q06 label.option", "optimizer.zero_grad()"),  # not ()optimizer.zero_grad
            ("#q-q17 legend", "(4, 3)"),  # not (3, 4)
            ("#q-q10 legend", "validation_data=(xv, yv)"),
            ("#q-q11 legend", 'Trainer(accelerator="gpu")'),
        ]
        for selector, piece in checks:
            first, last = page.evaluate(_SPAN_X, [selector, piece])
            assert first < last, f"{piece!r} in {selector} is laid out right to left"
        option = page.locator("#q-q06 .opt-text").first
        assert option.get_attribute("dir") == "rtl"
        page.locator("#q-q17").scroll_into_view_if_needed()
        CODE_SCREENSHOT.parent.mkdir(exist_ok=True)
        page.locator("#q-q06").screenshot(path=str(CODE_SCREENSHOT.with_suffix(".q06.png")))
        page.screenshot(path=str(CODE_SCREENSHOT), full_page=True)
    assert CODE_SCREENSHOT.stat().st_size > 10_000
