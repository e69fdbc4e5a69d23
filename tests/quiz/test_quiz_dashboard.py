"""Instructor statistics: facility, discrimination, normalized gain; the dashboard page."""

from __future__ import annotations

import pytest

from grader.quiz.dashboard import stats
from grader.quiz.service import submit
from tests.support.quiz import right, wrong

BOTH_DATABASES = True  # every test with a store runs on SQLite and on PostgreSQL


def test_pure_statistics():
    assert stats.normalized_gain(0.5, 0.75) == pytest.approx(0.5)
    assert stats.normalized_gain(0.8, 0.6) == pytest.approx(-1.0)
    assert stats.normalized_gain(1.0, 1.0) is None
    assert stats.pearson([0, 1, 2], [0, 2, 4]) == pytest.approx(1.0)
    assert stats.pearson([1, 1, 1], [0, 2, 4]) is None
    assert stats.histogram([0.0, 0.05, 0.5, 1.0, 0.99]) == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]


def test_summary_from_stored_attempts(bank, store):
    pre, post = bank["frameworks-pre"], bank["frameworks-post"]
    # three students; q02 (1 point, api-levels) is right for the two strongest only
    pre_q02, post_q02 = right(pre, "q02"), right(post, "q02")
    submit(store, pre, "s1", {"q02": pre_q02, "q03": -6, "q04": 0.6}, "en")  # 3 / 19
    submit(store, pre, "s2", {"q02": pre_q02, "q03": -6}, "en")  # 2 / 19
    submit(store, pre, "s3", {"q02": wrong(pre, "q02")}, "he")  # 0 / 19
    submit(store, post, "s1", {"q02": post_q02, "q03": 0.3}, "en")  # first attempt: 2 / 26
    submit(store, post, "s1", {"q02": post_q02, "q03": 0.3, "q05": 18}, "en")  # best: 3 / 26
    submit(store, post, "s3", {"q02": post_q02}, "en")  # 1 / 26
    data = stats.summary(bank, store)
    q = data["quizzes"]["frameworks-pre"]
    assert q["students"] == 3 and q["attempts"] == 3
    items = {i["id"]: i for i in q["items"]}
    assert items["q02"]["facility"] == pytest.approx(2 / 3)
    assert items["q03"]["facility"] == pytest.approx(2 / 3)
    assert items["q05"]["facility"] == 0.0 and items["q05"]["discrimination"] is None
    # q02 scores (1, 1, 0) against the rest of the quiz (2, 1, 0): r = 0.866
    assert items["q02"]["discrimination"] == pytest.approx(0.8660254, 1e-6)
    assert data["quizzes"]["frameworks-post"]["attempts"] == 3
    (gain,) = data["gains"]
    assert gain["students"] == 2  # s2 took no post quiz
    per_student = {s["student"]: s for s in gain["per_student"]}
    assert per_student["s1"]["pre"] == pytest.approx(3 / 19)
    assert per_student["s1"]["post"] == pytest.approx(3 / 26)  # the best attempt counts
    assert per_student["s3"]["gain"] == pytest.approx((1 / 26 - 0) / 1)
    concepts = {c["concept"]: c for c in gain["per_concept"]}
    assert concepts["api-levels"]["pre"] == pytest.approx(0.5)
    assert concepts["api-levels"]["post"] == pytest.approx(1.0)
    assert concepts["api-levels"]["gain"] == pytest.approx(1.0)
    assert concepts["gradient"]["pre"] == concepts["gradient"]["post"] == pytest.approx(0.5)
    assert concepts["gradient"]["gain"] == pytest.approx(0.0)
    assert concepts["autograd-accumulation"]["gain"] == pytest.approx(0.5)
    assert concepts["zero-grad"]["gain"] == 0.0


def test_dashboard_page_has_plots_and_gain(client, bank, store):
    pre, post = bank["frameworks-pre"], bank["frameworks-post"]
    submit(store, pre, "s1", {"q02": right(pre, "q02")}, "en")
    submit(store, post, "s1", {"q02": right(post, "q02"), "q05": 18}, "en")
    r = client.get(
        "/instructor", headers={"Authorization": "Bearer instructor-token-for-tests-0123456789"}
    )
    assert r.status_code == 200
    assert r.text.count("<svg") == 2 + 3 * 2
    assert "normalized gain per concept" in r.text and 'id="gain-per-student"' in r.text
    assert "<td>api-levels</td><td>100%</td><td>100%</td>" in r.text
