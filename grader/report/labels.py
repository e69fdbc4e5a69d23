"""The report's words in English and Hebrew (``grader report --lang he``).

Terms follow ``docs/glossary.md``; the figures keep English labels (matplotlib does not lay
out right-to-left text), and data (ids, test names, the engine's messages) stays as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from grader.report.collect import (
    FLAGGED,
    GRADED,
    MISSING_NOTEBOOK,
    NO_SUBMISSION,
    NOT_GRADABLE,
    NOT_GRADED,
)

DIRECTION = {"en": "ltr", "he": "rtl"}

LABELS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Class report",
        "course": "Course",
        "generated": "generated",
        "whole_course": "whole course",
        "overview": "Course overview",
        "student": "student",
        "assignment": "Assignment",
        "notebooks_list": "Notebooks",
        "maximum": "maximum {points} points",
        "due": "due",
        "students_count": "students",
        "late_count": "late",
        "mean": "mean",
        "median": "median",
        "distribution": "Score distribution",
        "distribution_caption": "Autograded score of each graded submission (not the ones that "
        "could not be graded), in percent of the autograded maximum; points a person grades "
        "come later.",
        "no_graded": "No graded submission yet.",
        "students": "Students",
        "status": "status",
        "score": "score",
        "submitted": "submitted",
        "notebooks": "notebooks",
        "late_by": "late by {duration}",
        "attention": "Needs attention",
        "what_happened": "what happened",
        "as_submitted": "as handed in",
        "not_gradable_reason": "not gradable: {reason}",
        "flag": "flagged: {flag}",
        "late_line": "late by {duration} (submitted {timestamp})",
        "stray": "submitted {file}, which is not a notebook of {assignment} (renamed, or meant "
        "for another assignment?)",
        "nothing_to_see": "Nothing flagged, not gradable, late or misnamed.",
        "tests": "Tests",
        "tests_caption": "Share of the gradable submissions that passed each test; the number "
        "beside each bar is the points the class lost on it.",
        "test": "test",
        "points": "points",
        "passed": "passed",
        "pass_rate": "pass rate",
        "points_lost": "points lost",
        "failures": "most common failure messages",
        "times": "Grading time per notebook",
        "times_caption": "Wall-clock seconds from kernel start to the last cell, one point per "
        "submission.",
        "notebook": "notebook",
        "graded_count": "graded",
        "median_s": "median (s)",
        "longest_s": "longest (s)",
        "no_times": "No notebook has been executed yet.",
        "concepts": "Quizzes and notebooks, concept by concept",
        "concepts_caption": "Class mean per concept on the quiz before the lecture, on the quiz "
        "after it, and on the notebooks that practise the concept (students who took both "
        "quizzes).",
        "concept": "concept",
        "before": "before",
        "after": "after",
        "gain": "normalized gain",
        "notebook_mean": "notebooks' mean",
        "gain_note": "Normalized gain g = (after − before) / (1 − before), Hake's measure: the "
        "share of what was still to learn that was learned.",
        "hour": "1 h",
        "hours": "{n} h",
        "minute": "1 min",
        "minutes": "{n} min",
        "and": " ",
        "and_digit": " ",
        "under_a_minute": "< 1 min",
        "note_no_quiz_given": "No quiz database was given (--quiz-db).",
        "note_no_quiz_db": "There is no quiz database at {where}: no quiz results to show.",
        "note_no_pairs": "No student has taken both the pre- and the post-lecture quiz yet.",
        "note_no_concepts_here": "No quiz concept is tied to the notebooks of this report.",
        "similarity": "Similar work",
        "sim_caption": "Pairs of students with an answer cell at or above the threshold "
        "({threshold}), compared with copydetect after the released starter code was removed "
        "(names, strings and comments do not count); and groups of students with the same "
        "rare wrong output on a hidden test. {students} students, {cells} answer cells.",
        "sim_archived": "Earlier years' submissions compared with: {n}.",
        "sim_verdict": "Similarity is a reason to look, not a verdict: short answers, a common "
        "way to solve an exercise or a shared mistake can look alike. Read both answers before "
        "speaking with anyone. This section is for the instructor only and never reaches "
        "students.",
        "sim_pairs": "Pairs with similar answers",
        "sim_pair": "{first} and {second}: best cell {score}",
        "sim_cell": "cell",
        "sim_score": "score",
        "sim_no_pairs": "No pair of answers at or above the threshold.",
        "sim_groups": "Identical wrong outputs",
        "sim_groups_caption": "Students whose output on a hidden test is the same failure, "
        "word for word, shared by at most {n} students.",
        "sim_output": "output",
        "sim_no_groups": "No rare wrong output shared by several students.",
        "sim_skipped": "Left out of the comparison ({n})",
        "sim_unavailable": "No similarity report: {reason}",
        "skip_empty": "empty answer cell",
        "skip_huge": "answer cell too large ({detail})",
        "skip_not_python": "not Python ({detail})",
        "skip_unreadable_cell": "unreadable answer cell",
        "skip_unreadable_notebook": "unreadable notebook ({detail})",
        GRADED: "graded",
        FLAGGED: "flagged",
        MISSING_NOTEBOOK: "notebook missing",
        NOT_GRADABLE: "not gradable",
        NOT_GRADED: "submitted, not graded yet",
        NO_SUBMISSION: "no submission",
    },
    "he": {
        "title": "דוח כיתה",
        "course": "קורס",
        "generated": "הופק",
        "whole_course": "כל הקורס",
        "overview": "סקירת הקורס",
        "student": "סטודנט",
        "assignment": "מטלה",
        "notebooks_list": "מחברות",
        "maximum": "ניקוד מרבי: {points}",
        "due": "להגשה עד",
        "students_count": "סטודנטים",
        "late_count": "באיחור",
        "mean": "ממוצע",
        "median": "חציון",
        "distribution": "התפלגות הציונים",
        "distribution_caption": "הציון האוטומטי של כל הגשה שנבדקה (ללא הגשות שלא ניתן היה "
        "לבדוק), באחוזים מהניקוד המרבי בבדיקה האוטומטית; הנקודות שמעניק בודק אנושי מתווספות "
        "בהמשך.",
        "no_graded": "עדיין אין הגשה שנבדקה.",
        "students": "סטודנטים",
        "status": "מצב",
        "score": "ציון",
        "submitted": "זמן ההגשה",
        "notebooks": "מחברות",
        "late_by": "באיחור של {duration}",
        "attention": "דורש תשומת לב",
        "what_happened": "מה קרה",
        "as_submitted": "כפי שהוגשו",
        "not_gradable_reason": "לא ניתן לבדיקה: {reason}",
        "flag": "סומן לבדיקה: {flag}",
        "late_line": "באיחור של {duration} (הוגש ב-{timestamp})",
        "stray": "הוגש הקובץ {file}, שאינו מחברת של המטלה {assignment} (אולי שמו שונה, או "
        "שהוא שייך למטלה אחרת?)",
        "nothing_to_see": "אין הגשות שסומנו, שלא ניתן היה לבדוק, שהוגשו באיחור או בשם שגוי.",
        "tests": "בדיקות",
        "tests_caption": "שיעור ההגשות שעברו כל בדיקה, מתוך ההגשות שנבדקו; המספר שליד כל "
        "עמודה הוא סך הנקודות שהכיתה הפסידה בבדיקה זו.",
        "test": "בדיקה",
        "points": "נקודות",
        "passed": "עברו",
        "pass_rate": "שיעור הצלחה",
        "points_lost": "נקודות שהופסדו",
        "failures": "הודעות הכישלון הנפוצות ביותר",
        "times": "זמן בדיקה לכל מחברת",
        "times_caption": "שניות מהפעלת ה-kernel ועד סוף התא האחרון, נקודה אחת לכל הגשה.",
        "notebook": "מחברת",
        "graded_count": "נבדקו",
        "median_s": "חציון (שניות)",
        "longest_s": "הארוך ביותר (שניות)",
        "no_times": "עדיין לא הורצה אף מחברת.",
        "concepts": "שאלונים ומחברות, מושג אחר מושג",
        "concepts_caption": "ממוצע הכיתה בכל מושג בשאלון שלפני השיעור, בשאלון שאחריו ובמחברות "
        "שמתרגלות את המושג (הסטודנטים שענו על שני השאלונים).",
        "concept": "מושג",
        "before": "לפני",
        "after": "אחרי",
        "gain": "רווח מנורמל",
        "notebook_mean": "ממוצע המחברות",
        "gain_note": "רווח מנורמל g = (אחרי − לפני) / (1 − לפני), המדד של Hake: החלק שנלמד "
        "מתוך מה שעוד נשאר ללמוד.",
        "hour": "שעה אחת",
        "hours": "{n} שעות",
        "minute": "דקה אחת",
        "minutes": "{n} דקות",
        "and": " ו",  # joined to a word: "שעה אחת ודקה אחת"
        "and_digit": " ו-",  # before a number: "27 שעות ו-5 דקות"
        "under_a_minute": "פחות מדקה",
        "note_no_quiz_given": "לא צוין מסד נתונים של השאלונים (--quiz-db).",
        "note_no_quiz_db": "אין מסד נתונים של השאלונים ב-{where}: אין תוצאות שאלונים להציג.",
        "note_no_pairs": "עדיין אין סטודנט שענה גם על השאלון שלפני השיעור וגם על השאלון שאחריו.",
        "note_no_concepts_here": "אף מושג בשאלונים אינו קשור למחברות של הדוח הזה.",
        "similarity": "עבודות דומות",
        "sim_caption": "זוגות סטודנטים שבהם לפחות תא תשובה אחד הגיע לסף ({threshold}) או עבר "
        "אותו, בהשוואה של copydetect אחרי הסרת קוד הפתיחה שפורסם במטלה (שמות, מחרוזות והערות "
        "אינם נספרים); וקבוצות סטודנטים שקיבלו באחת הבדיקות הנסתרות אותו פלט שגוי ונדיר. "
        "{students} סטודנטים, {cells} תאי תשובה.",
        "sim_archived": "הגשות משנים קודמות שנכללו בהשוואה: {n}.",
        "sim_verdict": "דמיון הוא סיבה לבדוק, לא הכרעה: תשובות קצרות, דרך פתרון נפוצה או "
        "טעות נפוצה עלולות להיראות דומות. קראו את שתי התשובות לפני שאתם פונים למישהו. החלק "
        "הזה מיועד למרצה בלבד ואינו מגיע לסטודנטים.",
        "sim_pairs": "זוגות עם תשובות דומות",
        "sim_pair": "{first} ו-{second}: התא הדומה ביותר {score}",
        "sim_cell": "תא",
        "sim_score": "ציון דמיון",
        "sim_no_pairs": "אין זוג תשובות שהגיע לסף.",
        "sim_groups": "פלט שגוי זהה",
        "sim_groups_caption": "סטודנטים שהפלט שלהם באחת הבדיקות הנסתרות הוא אותו כישלון, "
        "מילה במילה, ושהוא משותף ל-{n} סטודנטים לכל היותר.",
        "sim_output": "פלט",
        "sim_no_groups": "אין פלט שגוי נדיר שמשותף לכמה סטודנטים.",
        "sim_skipped": "לא נכללו בהשוואה ({n})",
        "sim_unavailable": "אין דוח דמיון: {reason}",
        "skip_empty": "תא תשובה ריק",
        "skip_huge": "תא תשובה גדול מדי ({detail})",
        "skip_not_python": "לא קוד Python ({detail})",
        "skip_unreadable_cell": "תא תשובה שלא ניתן לקרוא",
        "skip_unreadable_notebook": "מחברת שלא ניתן לקרוא ({detail})",
        GRADED: "נבדק",
        FLAGGED: "סומן לבדיקה",
        MISSING_NOTEBOOK: "חסרה מחברת",
        NOT_GRADABLE: "לא ניתן לבדיקה",
        NOT_GRADED: "הוגש, טרם נבדק",
        NO_SUBMISSION: "לא הוגש",
    },
}


def labels(lang: str) -> Mapping[str, str]:
    """The report's words in ``lang``; raises ValueError naming the languages there are."""
    if lang not in LABELS:
        raise ValueError(f"no report language {lang!r}: choose one of {', '.join(LABELS)}")
    return LABELS[lang]


def duration(seconds: float, words: Mapping[str, str]) -> str:
    """A lateness in hours and minutes, in words of the report's language ("" for none)."""
    if seconds <= 0:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes = rest // 60
    parts = []
    if hours:
        parts.append(words["hour"] if hours == 1 else words["hours"].format(n=hours))
    if minutes:
        parts.append(words["minute"] if minutes == 1 else words["minutes"].format(n=minutes))
    if not parts:
        return words["under_a_minute"]
    if len(parts) == 1:
        return parts[0]
    joint = words["and_digit"] if parts[1][0].isdigit() else words["and"]
    return parts[0] + joint + parts[1]
