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

from dataclasses import dataclass
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
    "labels-not-scores": {
        "en": "the model returns class labels, not class scores: whether a network is linear "
        "shows only in its scores; return the model, or a function that returns the scores",
        "he": "המודל מחזיר תוויות של מחלקות ולא ציוני מחלקות: אם רשת ליניארית או לא אפשר לראות "
        "רק בציונים שלה; החזירו את המודל, או פונקציה שמחזירה את הציונים",
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
    # what the integrity probe found (tamper.findings), inside "tampering-before"
    "tamper-replaced": {
        "en": "{target} replaced by code from {origin}",
        "he": "{target} הוחלף בקוד מתוך {origin}",
    },
    "tamper-replaced-by-class": {
        "en": "{target} replaced by class {cls} of module {module}",
        "he": "{target} הוחלף במחלקה {cls} של המודול {module}",
    },
    "tamper-module": {
        "en": "module {module} is not the installed one",
        "he": "המודול {module} אינו המודול המותקן",
    },
    "tamper-on-instance": {
        "en": "{target} replaced on the instance",
        "he": "{target} הוחלף באובייקט עצמו",
    },
    "tamper-always-equal": {
        "en": "objects of {cls} compare equal to anything",
        "he": "אובייקטים של המחלקה {cls} שווים בהשוואה לכל ערך",
    },
    "tamper-input-transformer": {
        "en": "input transformer installed: {name}",
        "he": "הותקן ממיר קלט: {name}",
    },
    "tamper-ast-transformer": {
        "en": "AST transformer installed: {name}",
        "he": "הותקן ממיר AST: {name}",
    },
    "tamper-exception-handler": {
        "en": "custom exception handler for {exception}",
        "he": "הותקן טיפול משלכם בחריגה {exception}",
    },
    "tamper-callback": {
        "en": "event callback from notebook code: {callback}",
        "he": "קוד המחברת נרשם לאירוע: {callback}",
    },
    "tamper-trace": {
        "en": "a trace function is installed (sys.settrace)",
        "he": "הותקנה פונקציית מעקב (sys.settrace)",
    },
    "tamper-profile": {
        "en": "a function that sees every call is installed (sys.setprofile)",
        "he": "הותקנה פונקציה שרואה כל קריאה לפונקציה (sys.setprofile)",
    },
    "probe-no-answer": {
        "en": "the kernel did not answer the integrity probe",
        "he": "הקרנל לא ענה לבדיקת התקינות של מערכת הבדיקה",
    },
    "probe-failed": {
        "en": "probe request failed: {error}",
        "he": "בדיקת התקינות של מערכת הבדיקה נכשלה: {error}",
    },
    "probe-not-run": {
        "en": "probe did not run: {reason}",
        "he": "בדיקת התקינות של מערכת הבדיקה לא רצה: {reason}",
    },
    "probe-unreadable": {
        "en": "probe answer unreadable",
        "he": "אי אפשר לקרוא את התשובה לבדיקת התקינות של מערכת הבדיקה",
    },
    "not-run": {"en": "not run", "he": "התא לא הורץ"},
    # a submission the engine could not grade (autograde.pending, autograde.record_failure)
    "files-unreadable": {
        "en": "the submission's files cannot be read ({error})",
        "he": "אי אפשר לקרוא את קובצי ההגשה ({error})",
    },
    "grading-error": {
        "en": "grading error (not the student's): {error}",
        "he": "שגיאה של מערכת הבדיקה (לא שלכם): {error}",
    },
    "not-submitted": {"en": "not submitted", "he": "לא הוגש"},
    # a notebook that cannot be read (submission.parse_notebook, submission.read_notebook)
    "too-large": {
        "en": "the notebook is {size} bytes, over the limit of {limit} bytes",
        "he": "גודל המחברת {size} בתים, מעל המגבלה של {limit} בתים",
    },
    "not-utf8": {
        "en": "the notebook is not UTF-8 text (byte {byte} at offset {offset})",
        "he": "המחברת אינה טקסט בקידוד UTF-8 (הבית {byte} במיקום {offset})",
    },
    "not-json": {
        "en": "the notebook is not valid JSON ({error} at line {line}, column {column})",
        "he": "המחברת אינה JSON תקין ({error} בשורה {line}, בעמודה {column})",
    },
    "not-a-notebook": {
        "en": "the file is JSON but not a Jupyter notebook",
        "he": "הקובץ הוא JSON, אבל לא מחברת Jupyter",
    },
    "old-nbformat": {
        "en": "the notebook is in nbformat {version}; only nbformat 4 is graded "
        "(open it in a current Jupyter and save it again)",
        "he": "המחברת שמורה ב-nbformat {version}; רק nbformat 4 נבדק "
        "(פתחו אותה ב-Jupyter עדכני ושמרו אותה מחדש)",
    },
    "name-leaves-folder": {
        "en": "a file name leaves the submission folder: {name!r}",
        "he": "שם של קובץ יוצא מתיקיית ההגשה: {name!r}",
    },
    "no-cells": {"en": "the notebook has no list of cells", "he": "במחברת אין רשימת תאים"},
    "bad-cell": {
        "en": "cell {position} is not a valid notebook cell",
        "he": "התא {position} אינו תא תקין של מחברת",
    },
    "bad-source": {
        "en": "cell {position} has an invalid source",
        "he": "התוכן של התא {position} אינו תקין",
    },
    "bad-metadata": {
        "en": "cell {position} has invalid metadata",
        "he": "ה-metadata של התא {position} אינו תקין",
    },
    "duplicate-id": {
        "en": "the notebook has two cells with the id {cell_id!r}",
        "he": "במחברת יש שני תאים עם המזהה {cell_id!r}",
    },
    # cells put back as released (submission.sanitize)
    "duplicate-cell": {
        "en": "cell {grade_id} appears more than once; the last copy is graded",
        "he": "התא {grade_id} מופיע יותר מפעם אחת; העותק האחרון נבדק",
    },
    "type-changed": {
        "en": "cell {grade_id} had its type changed; restored to {cell_type}",
        "he": "הסוג של התא {grade_id} שונה; הוא הוחזר ל-{cell_type}",
    },
    "test-modified": {
        "en": "test cell {grade_id} was modified; the original was restored",
        "he": "תא הבדיקה {grade_id} שונה; התא המקורי הוחזר",
    },
    "read-only-modified": {
        "en": "read-only cell {grade_id} was modified; the original was restored",
        "he": "התא {grade_id}, שהוא לקריאה בלבד, שונה; התא המקורי הוחזר",
    },
    "test-deleted": {
        "en": "test cell {grade_id} was deleted; it was restored",
        "he": "תא הבדיקה {grade_id} נמחק; הוא הוחזר",
    },
    "task-deleted": {
        "en": "task cell {grade_id} was deleted; it was restored",
        "he": "תא המשימה {grade_id} נמחק; הוא הוחזר",
    },
    "read-only-deleted": {
        "en": "read-only cell {grade_id} was deleted; it was restored",
        "he": "התא {grade_id}, שהוא לקריאה בלבד, נמחק; הוא הוחזר",
    },
    # a run that stopped (kernel)
    "notebook-time-reached": {
        "en": "the notebook time limit of {seconds:g} s was reached",
        "he": "מגבלת הזמן של המחברת, {seconds:g} שניות, הסתיימה",
    },
    "notebook-time-ran-out": {
        "en": "the notebook time limit of {seconds:g} s ran out in cell {cell}",
        "he": "מגבלת הזמן של המחברת, {seconds:g} שניות, הסתיימה בתא {cell}",
    },
    "cell-timed-out": {
        "en": "timed out after {seconds:g} s in cell {cell}",
        "he": "התא {cell} נעצר אחרי {seconds:g} שניות, מגבלת הזמן של תא",
    },
    "not-interruptible": {
        "en": "{what}; the kernel did not stop when interrupted and was killed",
        "he": "{what}; הקרנל לא נעצר כשנקטע, ולכן הופסק בכוח",
    },
    "kernel-died-in": {
        "en": "the kernel {how} in cell {cell}",
        "he": "הקרנל {how} בתא {cell}",
    },
    "kernel-died-after": {
        "en": "the kernel {how} after cell #{index}",
        "he": "הקרנל {how} אחרי התא שבמקום {index}",
    },
    "kernel-not-started": {
        "en": "the kernel could not start: {error}",
        "he": "לא ניתן היה להפעיל את הקרנל: {error}",
    },
    "ended-before-answering": {
        "en": "it ended before answering",
        "he": "הוא הסתיים לפני שענה",
    },
    "silent-at-start": {
        "en": "it did not answer in {seconds} s",
        "he": "הוא לא ענה תוך {seconds} שניות",
    },
    "kernel-not-started-log": {
        "en": "the kernel could not start: {error} ({log})",
        "he": "לא ניתן היה להפעיל את הקרנל: {error} ({log})",
    },
    # how a kernel ended (kernel.describe_exit)
    "exit-unresponsive": {"en": "stopped responding", "he": "הפסיק להגיב"},
    "exit-signal-number": {
        "en": "was killed by signal {number}",
        "he": "הופסק באות (signal) {number}",
    },
    "exit-signal-name": {"en": "was killed by {signal}", "he": "הופסק באות {signal}"},
    "exit-SIGKILL": {
        "en": "killed (out of memory, or a limit was exceeded)",
        "he": "הופסק בכוח (נגמר הזיכרון, או שנחצתה מגבלה)",
    },
    "exit-SIGSEGV": {
        "en": "crashed with a segmentation fault",
        "he": "קרס בשגיאת זיכרון (segmentation fault)",
    },
    "exit-SIGABRT": {"en": "aborted", "he": "הופסק (abort)"},
    "exit-SIGXCPU": {"en": "exceeded its CPU time limit", "he": "חרג ממגבלת זמן המעבד"},
    "exit-SIGXFSZ": {"en": "exceeded the file size limit", "he": "חרג ממגבלת גודל הקבצים"},
    "exit-SIGBUS": {"en": "crashed with a bus error", "he": "קרס בשגיאת זיכרון (bus error)"},
    "exit-status": {
        "en": "exited with status {code} (a call such as {calls})",
        "he": "יצא עם קוד היציאה {code} (קריאה כמו {calls})",
    },
    # output kept within the cell's budget (outputs.OutputBudget)
    "output-truncated": {
        "en": "[grader: output truncated: {reason}]",
        "he": "[מערכת הבדיקה: הפלט קוצר: {reason}]",
    },
    "more-lines": {"en": "more than {count} lines", "he": "יותר מ-{count} שורות"},
    "more-bytes": {"en": "more than {count} bytes", "he": "יותר מ-{count} בתים"},
    "more-evidence": {
        "en": "more than {count} bytes of evidence",
        "he": "יותר מ-{count} בתים של נתוני בדיקה",
    },
    "traceback-cut": {
        "en": "... ({count} lines of traceback left out) ...",
        "he": "... ({count} שורות של ה-traceback הושמטו) ...",
    },
}


def say(language: str, message_id: str, /, **fields: Any) -> str:
    """The engine's message ``message_id`` in ``language`` (English when it has none there),
    its fields filled in and, in Hebrew, laid out with Unicode isolates."""
    return word(MESSAGES[message_id], language, **fields)


@dataclass(frozen=True)
class Message:
    """One message of :data:`MESSAGES` and its values: a fact the engine tells, worded only when
    read, so that the student reads it in the notebook's language and the instructor's logs and
    flags in English (``str()``). Values must be hashable: messages are compared and
    deduplicated."""

    message_id: str
    values: tuple[tuple[str, Any], ...] = ()

    def text(self, language: str = "en") -> str:
        """The message in words, in ``language``."""
        return say(language, self.message_id, **dict(self.values))

    def __str__(self) -> str:
        return self.text()


def message(message_id: str, /, **values: Any) -> Message:
    """Message ``message_id`` with its values (the templates format them as given)."""
    return Message(message_id, tuple(values.items()))


class MessageError(Exception):
    """An error whose reason is a message of the catalog (``message``): the engine words it in
    each reader's language; ``str()`` is the English. It crosses processes intact (a grading
    worker's error reaches the scheduler pickled): its argument is the message id, the values
    travel as its state."""

    def __init__(self, message_id: str, /, **values: Any) -> None:
        super().__init__(message_id)
        self.message = message(message_id, **values)

    def __str__(self) -> str:
        return str(self.message)
