"""Interface strings of the quiz pages in English and Hebrew, and text direction per language."""

from __future__ import annotations

RTL_LANGUAGES = frozenset({"he", "ar", "fa", "ur", "yi"})

UI: dict[str, dict[str, str]] = {
    "en": {
        "language_name": "English",
        "choose_language": "Choose a language",
        "submit": "Submit answers",
        "score": "Your score",
        "attempt": "Attempt",
        "attempts_left": "Attempts left",
        "no_attempts_left": "You have used all your attempts.",
        "select_one": "Choose one answer.",
        "select_many": "Choose all answers that apply. Each right choice earns its share of the "
        "points, each wrong choice takes one share away, and a question never scores below 0.",
        "true_false": "True or false?",
        "numeric": "Type a number.",
        "points": "points",
        "your_answer": "your answer",
        "correct_answer": "correct answer",
        "expected": "Expected",
        "feedback_deferred": "Your answers are saved. Feedback on each question appears after "
        "your last attempt.",
        "previous_attempts": "Your previous attempts",
        "error": "Something went wrong",
        "not_a_number": "Question {n}: {value} is not a number. Nothing was sent: correct it and "
        "submit again.",
        "unanswered": "not answered",
        "back": "Back to the quiz",
    },
    "he": {
        "language_name": "עברית",
        "choose_language": "בחרו שפה",
        "submit": "שליחת התשובות",
        "score": "הציון שלכם",
        "attempt": "ניסיון",
        "attempts_left": "ניסיונות שנותרו",
        "no_attempts_left": "ניצלתם את כל הניסיונות שלכם.",
        "select_one": "בחרו תשובה אחת.",
        "select_many": "סמנו את כל התשובות הנכונות. כל בחירה נכונה מזכה בחלק שלה מהנקודות, כל "
        "בחירה שגויה מורידה חלק אחד, והציון על שאלה לעולם אינו יורד מתחת ל-0.",
        "true_false": "נכון או לא נכון?",
        "numeric": "הקלידו מספר.",
        "points": "נקודות",
        "your_answer": "התשובה שלכם",
        "correct_answer": "התשובה הנכונה",
        "expected": "התשובה הנכונה",
        "feedback_deferred": "התשובות שלכם נשמרו. המשוב על כל שאלה יוצג אחרי הניסיון האחרון.",
        "previous_attempts": "הניסיונות הקודמים שלכם",
        "error": "משהו השתבש",
        "not_a_number": "שאלה {n}: \u2068{value}\u2069 אינו מספר. התשובות לא נשלחו: תקנו ושלחו "
        "שוב.",
        "unanswered": "לא נענתה",
        "back": "חזרה לשאלון",
    },
}


def ui(lang: str) -> dict[str, str]:
    """Interface strings for ``lang`` (English for languages without a translation)."""
    return UI.get(lang, UI["en"])


def direction(lang: str) -> str:
    """``rtl`` for right-to-left languages, else ``ltr``."""
    return "rtl" if lang.split("-")[0] in RTL_LANGUAGES else "ltr"


def points_label(points: float, lang: str) -> str:
    """``1 point``, ``2 points``, ``נקודה אחת``, ``2 נקודות``: the points in words, plural right."""
    if lang == "he":
        return "נקודה אחת" if points == 1 else f"{points:g} {ui(lang)['points']}"
    word = "point" if points == 1 else ui(lang)["points"]
    return f"{points:g} {word}"
