"""The JSON API and the pages: what a student sees, submits and gets back; storage."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import httpx

from tests.support.quiz import correct_answers, wrong_answers

BOTH_DATABASES = True  # every test with a store runs on SQLite and on PostgreSQL


def _auth(t):
    return {"Authorization": f"Bearer {t}"}


def test_get_quiz_in_hebrew_has_options_but_numeric_has_none(client, token, bank):
    r = client.get("/api/quiz/frameworks-pre?lang=he", headers=_auth(token("alice")))
    assert r.status_code == 200
    data = r.json()
    assert data["quiz"]["dir"] == "rtl" and data["quiz"]["id"] == "frameworks-pre"
    assert len(data["questions"]) == len(bank["frameworks-pre"].questions)
    for q in data["questions"]:
        assert set(q) >= {"id", "type", "text"}
        if q["type"] == "numeric":
            assert "options" not in q
        else:
            assert all(set(o) == {"id", "text"} for o in q["options"])
    q1 = next(q for q in data["questions"] if q["id"] == "q01")
    assert "טנסורים" in " ".join(o["text"] for o in q1["options"])


def test_submit_scores_and_returns_per_option_feedback(client, token, bank):
    quiz = bank["frameworks-pre"]
    r = client.post(
        "/api/quiz/frameworks-pre/attempts",
        headers=_auth(token("alice")),
        json={"answers": correct_answers(quiz), "lang": "he"},
    )
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["score"] == data["max_score"] == quiz.max_score
    assert data["attempt"] == 1 and data["attempts_left"] == 0
    q1 = next(q for q in data["questions"] if q["id"] == "q01")
    assert q1["correct"] and q1["score"] == 2.0
    assert all(o["feedback"] for o in q1["options"]) and len(q1["options"]) == 5
    assert "נכון" in q1["options"][0]["feedback"] or "לא" in q1["options"][0]["feedback"]
    numeric = next(q for q in data["questions"] if q["id"] == "q03")
    assert numeric["expected"] == -6 and numeric["feedback"]


def test_wrong_numeric_answer_gets_the_matching_mistake_feedback(client, token):
    r = client.post(
        "/api/quiz/frameworks-pre/attempts",
        headers=_auth(token("bob")),
        json={"answers": {"q03": 6}, "lang": "en"},
    )
    q3 = next(q for q in r.json()["questions"] if q["id"] == "q03")
    assert q3["score"] == 0 and "sign" in q3["feedback"]


def test_resubmission_is_a_new_attempt_and_deferred_feedback_waits(client, token, bank, store):
    quiz = bank["frameworks-post"]
    t = token("carol", "frameworks-post")
    first = client.post(
        "/api/quiz/frameworks-post/attempts",
        headers=_auth(t),
        json={"answers": wrong_answers(quiz)},
    )
    assert first.status_code == 201
    body = first.json()
    assert body["score"] == 0 and not body["feedback_available"]
    assert all(set(q) == {"id", "answered"} for q in body["questions"])
    second = client.post(
        "/api/quiz/frameworks-post/attempts",
        headers=_auth(t),
        json={"answers": correct_answers(quiz)},
    )
    assert second.status_code == 201
    body = second.json()
    assert body["attempt"] == 2 and body["score"] == quiz.max_score and body["feedback_available"]
    assert all("options" in q or "expected" in q for q in body["questions"])
    third = client.post(
        "/api/quiz/frameworks-post/attempts",
        headers=_auth(t),
        json={"answers": correct_answers(quiz)},
    )
    assert third.status_code == 409 and "attempt" in third.json()["detail"]
    rows = store.attempts("frameworks-post", "carol")
    assert [(a.number, a.score) for a in rows] == [(1, 0.0), (2, quiz.max_score)]
    listed = client.get("/api/quiz/frameworks-post/attempts", headers=_auth(t)).json()
    assert [a["attempt"] for a in listed["attempts"]] == [1, 2]
    assert all(a["feedback_available"] for a in listed["attempts"])  # attempts are used up


def test_language_picker_then_rtl_page(client, token):
    t = token("dan")
    r = client.get(f"/quiz/frameworks-pre?token={t}")
    assert r.status_code == 200 and "lang=he" in r.text and "עברית" in r.text
    r = client.get(f"/quiz/frameworks-pre?token={t}&lang=he")
    assert r.status_code == 200
    assert '<html lang="he" dir="rtl">' in r.text
    assert 'name="csrf"' in r.text and "שליחת התשובות" in r.text
    assert "(נקודה אחת)" in r.text and "(1 נקודות)" not in r.text
    r = client.get(f"/quiz/frameworks-pre?token={t}&lang=en")
    assert '<html lang="en" dir="ltr">' in r.text
    assert "(1 point)" in r.text and "(2 points)" in r.text and "1.0 points" not in r.text


def test_form_fallback_scores_like_the_api(client, token, bank):
    from grader.quiz.tokens import csrf_token
    from tests.support.quiz import SECRET

    t = token("erin")
    fields = [
        ("token", t),
        ("csrf", csrf_token(SECRET, t)),
        ("lang", "he"),
        ("q_q01", "a"),
        ("q_q01", "c"),
        ("q_q01", "d"),
        ("q_q03", "-6"),
        ("q_q06", "false"),
    ]
    r = client.post(
        "/quiz/frameworks-pre/submit",
        content=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 201, r.text
    assert 'dir="rtl"' in r.text
    assert 'id="score" dir="ltr">4.0 / 19.0<' in r.text  # q01 (2 points) + q03 (1) + q06 (1)


def test_concurrent_submissions_all_land_without_duplicates(served, store, token, bank):
    """Thirty students at once, plus one student racing four submissions against a limit of
    two, through a real server: every allowed attempt is stored exactly once."""
    url = served
    pre, post = bank["frameworks-pre"], bank["frameworks-post"]
    results: list[int] = []
    lock = threading.Lock()

    def submit(student: str, quiz: str, answers) -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            r = c.post(
                f"/api/quiz/{quiz}/attempts",
                headers=_auth(token(student, quiz)),
                json={"answers": answers},
            )
        with lock:
            results.append(r.status_code)

    threads = [
        threading.Thread(
            target=submit, args=(f"crowd{i:02d}", "frameworks-pre", correct_answers(pre))
        )
        for i in range(30)
    ]
    threads += [
        threading.Thread(target=submit, args=("racer", "frameworks-post", correct_answers(post)))
        for _ in range(4)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [201] * 32 + [409] * 2
    crowd = [a for a in store.attempts("frameworks-pre") if a.student.startswith("crowd")]
    assert len(crowd) == 30 and {a.number for a in crowd} == {1}
    assert all(a.score == pre.max_score for a in crowd)
    assert [a.number for a in store.attempts("frameworks-post", "racer")] == [1, 2]


def test_any_sqlalchemy_url_in_memory(bank):
    from grader.quiz.store import Store

    with Store.open("sqlite://") as s:
        a = s.add_attempt("frameworks-pre", "x", 1, "en", 1.0, 19.0, {"q01": ["a"]}, {"q01": 1})
        assert a.number == 1 and s.count() == 1
