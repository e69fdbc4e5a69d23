"""The engine's words to the student, in the notebook's language.

A verdict's messages are what the student reads beside each test in their feedback. The public
part of a test fails in the student's kernel, in the words of :mod:`grader.checks.messages`;
what only the engine decides (the hidden examples' accuracy, the hidden points' gradients, the
device, the network recomputed from the model's weights) is worded here, in the language of
the notebook the student was given (``metadata.grader.language``), laid out as the checks'
messages are (:func:`grader.checks.messages.word`). Values are fields, so they read the same in
every language.
"""

from __future__ import annotations

from typing import Any

from grader.checks.messages import word

#: Templates by message id and language (the checks' languages, ``SUPPORTED``).
MESSAGES: dict[str, dict[str, str]] = {
    # a value compared with the reference's (judge.compare_value)
    "truth-value": {
        "en": "{name} is not the expected truth value",
        "he": "הערך {name} אינו ערך האמת הנכון",
    },
    "should-be-none": {
        "en": "{name} should be empty (None)",
        "he": "הערך {name} צריך להיות ריק (None)",
    },
    "wrong-text": {"en": "{name} is not the expected text", "he": "הערך {name} אינו הטקסט הנכון"},
    "whole-number": {
        "en": "{name} should be a whole number",
        "he": "הערך {name} צריך להיות מספר שלם",
    },
    "wrong-number": {
        "en": "{name} is not the expected number",
        "he": "הערך {name} אינו המספר הנכון",
    },
    "list-of": {
        "en": "{name} should be a list of {count} items",
        "he": "הערך {name} צריך להיות רשימה של {count} איברים",
    },
    "mapping": {
        "en": "{name} should be a mapping",
        "he": "הערך {name} צריך להיות מילון (mapping)",
    },
    "missing": {"en": "{name} is missing", "he": "הערך {name} חסר"},
    "cannot-compare": {
        "en": "{name}: the reference holds a value the engine cannot compare",
        "he": "{name}: בפתרון של המרצה יש ערך שמערכת הבדיקה אינה יודעת להשוות; פנו למרצה",
    },
    "numeric": {"en": "{name} should be numeric", "he": "הערך {name} צריך להיות מספרי"},
    "shape": {
        "en": "{name} has shape {got}, expected {want}",
        "he": "לערך {name} יש הצורה {got}, ציפינו לצורה {want}",
    },
    "differs": {
        "en": "{name} differs from the expected",
        "he": "הערך {name} שונה מהערך הנכון",
    },
    "differs-by": {
        "en": "{name} differs from the expected value (largest difference {worst:.3g})",
        "he": "הערך {name} שונה מהערך הנכון (ההפרש הגדול ביותר {worst:.3g})",
    },
    # accuracy on a hidden split (judge.judge_predictions)
    "no-dataset": {
        "en": "the reference names no dataset; ask the instructor",
        "he": "הפתרון של המרצה אינו מציין מאגר נתונים; פנו למרצה",
    },
    "no-threshold": {
        "en": "the reference sets no accuracy threshold; ask the instructor",
        "he": "הפתרון של המרצה אינו קובע סף דיוק; פנו למרצה",
    },
    "predictions-unreadable": {
        "en": "predictions are not an array of labels",
        "he": "החיזויים אינם מערך של תוויות",
    },
    "predictions-not-labels": {
        "en": "predictions should be integer class labels",
        "he": "החיזויים צריכים להיות תוויות של מחלקות, במספרים שלמים",
    },
    "predictions-count": {
        "en": "{count} predictions for {total} hidden examples of {dataset}",
        "he": "{count} חיזויים עבור {total} הדוגמאות של הקבוצה החבויה של {dataset}",
    },
    "accuracy-hidden": {
        "en": "accuracy {accuracy:.3f} on the hidden examples of {dataset}, "
        "below the required {threshold:.3f}",
        "he": "הדיוק על הקבוצה החבויה של {dataset} הוא {accuracy:.3f}; נדרש לפחות {threshold:.3f}",
    },
    # devices (judge.judge_device, judge.judge_pick)
    "no-devices": {"en": "no devices reported", "he": "לא דווח אף התקן"},
    "device-error": {
        "en": "the code raised an error on the device it was given ({wanted}) ({error}): "
        "something it needs (the model or the batch) was not moved there",
        "he": "הקוד נכשל על ההתקן שקיבל ({wanted}) ({error}): משהו שהוא צריך (המודל או "
        "האצווה) לא הועבר אליו",
    },
    "device-error-unsaid": {
        "en": "the code raised an error on the device it was given ({wanted}): "
        "something it needs (the model or the batch) was not moved there",
        "he": "הקוד נכשל על ההתקן שקיבל ({wanted}): משהו שהוא צריך (המודל או האצווה) לא הועבר אליו",
    },
    "tensors-elsewhere": {
        "en": "found tensors on {wrong}; expected all on {wanted}",
        "he": "נמצאו טנסורים על {wrong}; ציפינו שכולם יהיו על {wanted}",
    },
    "no-device-name": {
        "en": "{situation}: no device name was returned",
        "he": "{situation}: לא הוחזר שם של התקן",
    },
    "chose-device": {
        "en": "{situation}: chose {got}, expected {want}",
        "he": "{situation}: נבחר {got}, ציפינו ל-{want}",
    },
    # overfitting (judge.judge_overfitting)
    "curve-plain_train": {
        "en": "plain train losses",
        "he": "אובדני האימון של הריצה בלי רגולריזציה",
    },
    "curve-plain_val": {
        "en": "plain val losses",
        "he": "אובדני הוולידציה של הריצה בלי רגולריזציה",
    },
    "curve-regularized_train": {
        "en": "regularized train losses",
        "he": "אובדני האימון של הריצה עם רגולריזציה",
    },
    "curve-regularized_val": {
        "en": "regularized val losses",
        "he": "אובדני הוולידציה של הריצה עם רגולריזציה",
    },
    "not-a-curve": {
        "en": "{name} should be a non-empty list of numbers",
        "he": "{name}: צריכה להיות כאן רשימה לא ריקה של מספרים",
    },
    "curve-lengths": {
        "en": "each run should give as many training as validation losses",
        "he": "כל ריצה צריכה לתת מספר שווה של אובדני אימון ושל אובדני ולידציה",
    },
    "no-ratio": {
        "en": "the reference sets no ratio; ask the instructor",
        "he": "הפתרון של המרצה אינו קובע יחס; פנו למרצה",
    },
    "no-gap": {
        "en": "the unregularized run shows no gap to narrow",
        "he": "בריצה בלי רגולריזציה אין פער לצמצם",
    },
    "gap-order": {
        "en": "the validation loss is far below the training loss: return "
        "(train_losses, val_losses), training losses first",
        "he": "אובדן הוולידציה נמוך בהרבה מאובדן האימון: החזירו "
        "(train_losses, val_losses), אובדני האימון קודם",
    },
    "gap-shrank": {
        "en": "the gap shrank to {ratio:.0%}; at most {max_ratio:.0%} is needed",
        "he": "הפער הצטמצם ל-{ratio:.0%}; נדרש לכל היותר {max_ratio:.0%}",
    },
    # the network a model computes (judge.judge_nonlinear, judge.judge_network)
    "name-outputs": {"en": "the model's outputs", "he": "הפלטים של המודל"},
    "name-weight": {"en": "a weight", "he": "אחד המשקלים"},
    "not-numbers": {
        "en": "{name} should be an array of numbers",
        "he": "{name}: צריך להיות כאן מערך של מספרים",
    },
    "not-finite": {
        "en": "{name} holds values that are not finite numbers",
        "he": "{name}: יש כאן ערכים שאינם מספרים סופיים",
    },
    "no-reference-probes": {
        "en": "the reference holds no probe inputs; ask the instructor",
        "he": "בפתרון של המרצה אין קלטי בדיקה; פנו למרצה",
    },
    "probes-changed": {
        "en": "the probe inputs are not the test's",
        "he": "קלטי הבדיקה שדווחו אינם אלה שהבדיקה נתנה",
    },
    "scores-list": {
        "en": "scores should be a list of {count} arrays of outputs",
        "he": "scores צריך להיות רשימה של {count} מערכי פלטים",
    },
    "outputs-count": {
        "en": "{count} outputs for {total} probe inputs",
        "he": "{count} פלטים עבור {total} קלטי בדיקה",
    },
    "linear": {
        "en": "the network's outputs are a linear function of its inputs (relative residual "
        "{residual:.1e}); put a non-linearity such as ReLU after each hidden layer",
        "he": "הפלטים של הרשת הם פונקציה ליניארית של הקלטים שלה (שארית יחסית "
        "{residual:.1e}); הוסיפו אי-ליניאריות כמו ReLU אחרי כל שכבה נסתרת",
    },
    "no-network": {
        "en": "the reference names no known network; ask the instructor",
        "he": "הפתרון של המרצה אינו מציין רשת מוכרת; פנו למרצה",
    },
    "weights-list": {
        "en": "weights should be a list of at most {count} arrays",
        "he": "weights צריך להיות רשימה של {count} מערכים לכל היותר",
    },
    "not-the-network": {
        "en": "the model does not compute the network asked for ({network}) with its own weights",
        "he": "המודל אינו מחשב בעזרת המשקלים שלו את הרשת שהתבקשה ({network})",
    },
    # a cell's evidence as a whole (judge.match_evidence, judge.judge_cell)
    "evidence-unreadable": {
        "en": "its evidence could not be read ({reason})",
        "he": "לא ניתן היה לקרוא את מה שהבדיקה רשמה ({reason})",
    },
    "no-evidence": {
        "en": "{check}: no evidence (the check did not run to the end)",
        "he": "{check}: לא נרשם דבר (הבדיקה לא רצה עד סופה)",
    },
    "check-problem": {"en": "{check}: {problem}", "he": "{check}: {problem}"},
    "surplus-evidence": {
        "en": "{check}: more evidence than the test emits",
        "he": "{check}: נרשם יותר ממה שהבדיקה רושמת",
    },
    "tampering-before": {
        "en": "tampering detected before this test: {found}",
        "he": "לפני הבדיקה הזו זוהה שינוי של מערכת הבדיקה: {found}",
    },
    "not-run": {"en": "not run", "he": "התא לא הורץ"},
    "not-submitted": {"en": "not submitted", "he": "לא הוגש"},
}


def say(language: str, message_id: str, /, **fields: Any) -> str:
    """The engine's message ``message_id`` in ``language`` (English when it has none there),
    its fields filled in and, in Hebrew, laid out with Unicode isolates."""
    return word(MESSAGES[message_id], language, **fields)
