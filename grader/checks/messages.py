"""The checks' messages to the student, in the notebook's language.

A translated notebook's first code cell calls :func:`set_language` (the translation build adds
the call; a kernel cannot see the notebook's metadata). A check then words its failure with
:func:`say`, which picks the template of the current language and falls back to English.
The language is the one setting of the checks that lives for the whole kernel session.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

#: Languages the messages come in.
SUPPORTED = ("en", "he")

#: Templates by message id and language; fields are filled with :meth:`str.format`. Values
#: (numbers, shapes, identifiers, grade ids) are fields, so they read the same in every language.
MESSAGES: dict[str, dict[str, str]] = {
    # a value the student gave (grader.checks._arrays)
    "accepted-forms": {
        "en": "a NumPy array, a torch tensor, a TensorFlow tensor, a Python number, "
        "or a list or tuple of these",
        "he": "מערך NumPy, טנסור של torch, טנסור של TensorFlow, מספר של Python, "
        "או רשימה או tuple שלהם",
    },
    "value-unreadable": {
        "en": "{what} could not be read as numbers ({reason}); give {forms}",
        "he": "לא ניתן לקרוא את {what} כמספרים ({reason}); תנו {forms}",
    },
    "value-none": {
        "en": "{what} is None: was something not returned? Give {forms}",
        "he": "{what} הוא None: אולי משהו לא הוחזר? תנו {forms}",
    },
    "value-ragged": {
        "en": "{what} is a {kind} that does not hold numbers of one regular shape; give {forms}",
        "he": "{what} הוא {kind} שאינו מחזיק מספרים בצורה אחידה אחת; תנו {forms}",
    },
    # values compared with the expected ones (grader.checks.values)
    "value-missing": {
        "en": "{check}: no value named {name!r} was produced",
        "he": "{check}: לא הופק ערך בשם {name!r}",
    },
    "value-shape": {
        "en": "{check}: {name} should have shape {want}, got shape {got}",
        "he": "{check}: ל-{name} צריכה להיות הצורה {want}, התקבלה הצורה {got}",
    },
    "value-wrong": {
        "en": "{check}: {name} is not what it should be (got {got}{hint})",
        "he": "{check}: הערך של {name} שגוי (התקבל {got}{hint})",
    },
    "value-not-close": {
        "en": "{check}: {name} has the right shape {shape} but not the right value ({how}; got "
        "{got}{hint})",
        "he": "{check}: ל-{name} יש הצורה הנכונה {shape} אבל לא הערך הנכון ({how}; התקבל "
        "{got}{hint})",
    },
    "number-not-close": {
        "en": "{check}: {name} is a number, but not the right value ({how}; got {got}{hint})",
        "he": "{check}: {name} הוא מספר, אבל לא הערך הנכון ({how}; התקבל {got}{hint})",
    },
    "expected-hint": {"en": "; expected {want}", "he": "; ציפינו ל-{want}"},
    "array-of-shape": {"en": "an array of shape {shape}", "he": "מערך בצורה {shape}"},
    "differs-by-about": {
        "en": "it differs from the expected value by about {size:.1g}",
        "he": "הוא שונה מהערך הצפוי בכ-{size:.1g}",
    },
    "differs-beyond-tolerance": {
        "en": "it differs from the expected value by more than the tolerance",
        "he": "הוא שונה מהערך הצפוי ביותר מהסטייה המותרת",
    },
    "values-differ": {
        "en": "{wrong} of {total} values differ; the first at index {first}, the largest "
        "difference, about {size:.1g}, at index {largest}",
        "he": "{wrong} מתוך {total} ערכים שונים; הראשון באינדקס {first}, וההפרש הגדול ביותר, "
        "כ-{size:.1g}, באינדקס {largest}",
    },
    # accuracy (grader.checks.accuracy)
    "no-predictions": {
        "en": "cannot get predictions from a {kind}; give a torch.nn.Module, a keras.Model or a "
        "function predict(x) that returns scores or labels",
        "he": "אי אפשר לקבל חיזויים מ-{kind}; תנו torch.nn.Module, keras.Model או פונקציה "
        "predict(x) שמחזירה ציונים או תוויות",
    },
    "predictions-shape": {
        "en": "{check}: expected one prediction per sample ({count}), got {shape}",
        "he": "{check}: ציפינו לחיזוי אחד לכל דוגמה ({count}), התקבלה הצורה {shape}",
    },
    "accuracy-low": {
        "en": "{check}: accuracy on the hidden validation split is {score:.3f}; at least "
        "{threshold:.3f} is needed",
        "he": "{check}: הדיוק על הקבוצה החבויה הוא {score:.3f}; נדרש לפחות {threshold:.3f}",
    },
    # devices (grader.checks.devices)
    "no-tensors": {
        "en": "{check}: no tensors or parameters were found to check",
        "he": "{check}: לא נמצאו טנסורים או פרמטרים לבדיקה",
    },
    "wrong-device": {
        "en": "{check}: everything should be on '{wanted}', but some tensors are on {strays}; "
        "move them with .to(device)",
        "he": "{check}: הכול צריך להיות על '{wanted}', אבל חלק מהטנסורים נמצאים על {strays}; "
        "העבירו אותם בעזרת .to(device)",
    },
    "pick-cuda": {
        "en": "{check}: with a GPU available it should pick 'cuda', it picked '{picked}'",
        "he": "{check}: כשיש GPU הפונקציה צריכה לבחור 'cuda', והיא בחרה '{picked}'",
    },
    "pick-cpu": {
        "en": "{check}: without a GPU it should pick 'cpu', it picked '{picked}'",
        "he": "{check}: בלי GPU הפונקציה צריכה לבחור 'cpu', והיא בחרה '{picked}'",
    },
    "unknown-device-failed": {
        "en": "{check}: given a device it had never seen, the code failed ({error}); move "
        "everything it computes with (the model and the batch alike) to the device argument "
        "instead of a fixed 'cpu' or 'cuda', and return tensors rather than Python numbers",
        "he": "{check}: כשקיבל התקן שלא ראה מעולם, הקוד נכשל ({error}); העבירו את כל מה "
        "שמשתתף בחישוב (גם את המודל וגם את האצווה) אל ההתקן שבארגומנט device במקום 'cpu' או "
        "'cuda' קבועים, והחזירו טנסורים ולא מספרים של Python",
    },
    "nothing-to-check": {
        "en": "{check}: nothing returned holds a tensor or parameter to check",
        "he": "{check}: שום דבר ממה שהוחזר לא מכיל טנסור או פרמטר לבדיקה",
    },
    "device-hard-coded": {
        "en": "{check}: some tensors stayed on {strays} instead of the device passed in; a "
        "device is probably hard-coded",
        "he": "{check}: חלק מהטנסורים נשארו על {strays} במקום על ההתקן שהועבר; כנראה "
        "שההתקן קבוע בקוד",
    },
    # gradients (grader.checks.gradients)
    "gradient-shape": {
        "en": "{check}: the gradient {where} has shape {got}; it should have the shape of the "
        "input, {want}",
        "he": "{check}: לגרדיאנט {where} יש הצורה {got}; הוא צריך להיות בצורה של הקלט, {want}",
    },
    "gradient-not-finite": {
        "en": "{check}: the gradient {where} contains NaN or infinite values",
        "he": "{check}: הגרדיאנט {where} מכיל NaN או ערכים אינסופיים",
    },
    "gradient-differs": {
        "en": "{check}: the gradient {where} differs from a numerical estimate (relative error "
        "{error:.2e}, at most {tol:.0e} allowed)",
        "he": "{check}: הגרדיאנט {where} שונה מהערכה נומרית (שגיאה יחסית {error:.2e}, מותר "
        "לכל היותר {tol:.0e})",
    },
    "at-point": {"en": "at test point {number}", "he": "בנקודת הבדיקה {number}"},
    "output-at-point": {
        "en": "{check}: the output at test point {number}",
        "he": "{check}: הפלט בנקודת הבדיקה {number}",
    },
    "gradient-at-point": {
        "en": "{check}: the gradient at test point {number}",
        "he": "{check}: הגרדיאנט בנקודת הבדיקה {number}",
    },
    "from-backward-at-point": {
        "en": "from backward at test point {number}",
        "he": "מ-backward בנקודת הבדיקה {number}",
    },
    "forward-not-tensor": {
        "en": "{check}: forward should return a tensor, it returned {kind}",
        "he": "{check}: forward צריכה להחזיר טנסור, והיא החזירה {kind}",
    },
    "backward-no-gradient": {
        "en": "{check}: backward gave no gradient for the input",
        "he": "{check}: backward לא נתנה גרדיאנט עבור הקלט",
    },
    "tape-no-gradient": {
        "en": "{check}: the tape found no gradient for the input",
        "he": "{check}: ה-tape לא מצא גרדיאנט עבור הקלט",
    },
    # overfitting (grader.checks.overfitting)
    "epoch-not-int": {
        "en": "{check}: should return an int epoch number, returned {kind}",
        "he": "{check}: הפונקציה צריכה להחזיר מספר אפוק מסוג int, והחזירה {kind}",
    },
    "wrong-on-curve": {
        "en": "{check}: wrong answer on test curve {number} (got {got})",
        "he": "{check}: תשובה שגויה על עקומת הבדיקה {number} (התקבל {got})",
    },
    "no-gap": {
        "en": "{check}: the unregularized run shows no gap to narrow",
        "he": "{check}: בריצה בלי רגולריזציה אין פער לצמצם",
    },
    "gap-not-narrowed": {
        "en": "{check}: the gap between validation and training loss went from {plain:.3f} to "
        "{regularized:.3f}; it should shrink to at most {ratio:.0%} of that",
        "he": "{check}: הפער בין אובדן הוולידציה לאובדן האימון השתנה מ-{plain:.3f} ל-"
        "{regularized:.3f}; הוא צריך להצטמצם ל-{ratio:.0%} ממנו לכל היותר",
    },
    "gap-order": {
        "en": "{check}: the validation loss is far below the training loss: return "
        "(train_losses, val_losses), training losses first",
        "he": "{check}: אובדן הוולידציה נמוך בהרבה מאובדן האימון: החזירו "
        "(train_losses, val_losses), אובדני האימון קודם",
    },
    # structure (grader.checks.structure)
    "no-weights": {
        "en": "a {kind} has no list of weights; give a keras.Model",
        "he": "ל-{kind} אין רשימת משקלים; תנו keras.Model",
    },
    "network-relu_relu_softmax": {
        "en": "{check}: the model does not compute softmax(relu(relu(x W1 + b1) W2 + b2) W3 + b3): "
        "check each layer's size and activation (ReLU, ReLU, softmax)",
        "he": "{check}: המודל אינו מחשב את softmax(relu(relu(x W1 + b1) W2 + b2) W3 + b3): "
        "בדקו בכל שכבה את הגודל ואת האקטיבציה (ReLU, ReLU, softmax)",
    },
    "network-relu_and_tanh_then_softmax": {
        "en": "{check}: the model does not compute softmax(concatenate(relu(x W1 + b1), "
        "tanh(x W2 + b2)) W3 + b3): check each layer's size and activation (ReLU and tanh "
        "branches, softmax output)",
        "he": "{check}: המודל אינו מחשב את softmax(concatenate(relu(x W1 + b1), "
        "tanh(x W2 + b2)) W3 + b3): בדקו בכל שכבה את הגודל ואת האקטיבציה (ענף ReLU וענף "
        "tanh, softmax ביציאה)",
    },
    "labels-not-scores": {
        "en": "{check}: the model returns class labels, not class scores: whether a network is "
        "linear shows only in its scores; return the model, or a function that returns the scores",
        "he": "{check}: המודל מחזיר תוויות של מחלקות ולא ציוני מחלקות: אם רשת ליניארית או לא "
        "אפשר לראות רק בציונים שלה; החזירו את המודל, או פונקציה שמחזירה את הציונים",
    },
    "linear-network": {
        "en": "{check}: the network's outputs are a linear function of its inputs (relative "
        "residual {residual:.1e}): stacked linear layers with nothing in between are one linear "
        "layer; put a non-linearity such as ReLU after each hidden layer",
        "he": "{check}: הפלטים של הרשת הם פונקציה ליניארית של הקלטים שלה (שארית יחסית "
        "{residual:.1e}): שכבות ליניאריות בלי כלום ביניהן הן שכבה ליניארית אחת; הוסיפו "
        "אי-ליניאריות כמו ReLU אחרי כל שכבה נסתרת",
    },
}

_session = {"language": "en"}


def set_language(language: str) -> None:
    """Word every later message of the checks in ``language`` ("en" or "he")."""
    if language not in SUPPORTED:
        raise ValueError(f"unsupported language {language!r}; choose one of {SUPPORTED}")
    _session["language"] = language


def current_language() -> str:
    """The language the checks speak now ("en" unless :func:`set_language` said otherwise)."""
    return _session["language"]


#: Languages written right to left: their messages are laid out with Unicode isolates.
RIGHT_TO_LEFT = frozenset({"he"})

#: Unicode's directional isolates (invisible): first-strong, right-to-left, and their end.
FSI, RLI, PDI = "\u2068", "\u2067", "\u2069"


class _IsolatingFormatter(string.Formatter):
    """``str.format`` that puts every filled-in field between FSI and PDI.

    A value (a shape such as ``(5, 2)``, a list, a number, ``optimizer.zero_grad()``) then keeps
    its own order inside a right-to-left sentence; a field that is itself a message of the
    catalog (already isolated) or empty is left as it is.
    """

    def format_field(self, value: Any, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        if not text or (text.startswith(RLI) and text.endswith(PDI)):
            return text
        return FSI + text + PDI


def say(message_id: str, /, **fields: Any) -> str:
    """The message ``message_id`` in the current language, its fields filled in (see
    :func:`word`)."""
    return word(MESSAGES[message_id], current_language(), **fields)


def word(templates: Mapping[str, str], language: str, /, **fields: Any) -> str:
    """One message, from its templates by language, in ``language`` (English when it has no
    template in that language), its fields filled in. The engine words its verdicts with it
    too (:mod:`grader.engine.words`).

    In a right-to-left language the whole message is a right-to-left isolate (RLI ... PDI) and
    each field a first-strong isolate (FSI ... PDI): Jupyter shows output left to right, and
    without them a Hebrew sentence reverses the values in it ("(5, 2)" would read "(2 ,5)").
    """
    if language not in templates:
        return templates["en"].format(**fields)
    if language in RIGHT_TO_LEFT:
        return RLI + _IsolatingFormatter().format(templates[language], **fields) + PDI
    return templates[language].format(**fields)
