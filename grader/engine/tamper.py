"""Tamper detection: a trusted probe run in the kernel between cells, judged by the engine.

After each cell the engine sends an empty, silent ``execute_request`` whose *user expression*
runs :data:`PROBE_SOURCE` (user expressions are evaluated directly, past the input transformers a
student may have installed). The probe reports what the IPython shell and common library
functions look like; :func:`findings` compares that report with the one taken before any student
code ran and names what changed (each a finding: a :class:`grader.engine.words.Message`, in
the notebook's language for the student, in English for the instructor):

- input transformers (``input_transformers_cleanup``/``_post``) and AST transformers added;
- custom exception handlers (``set_custom_exc``) and event callbacks from notebook code;
- ``showtraceback`` and other shell methods replaced (on the instance or the class);
- common functions (``numpy.allclose``, ``torch.allclose``, ``grader.checks`` ...) replaced by
  code that does not come from an installed package, or the project's functions and classes
  replaced by classes of the notebook's own (a type alias is judged by what it stands for);
- a trace or profile function installed (``sys.settrace``, ``sys.setprofile``, or
  ``threading``'s for new threads): it sees the frames of the test cell's checks, where a
  hidden test's expected values can be read and the values to emit changed.

The probe runs inside the untrusted kernel, so a determined student can fool it; a missing or
unreadable answer is itself a finding. It is a net for the common tricks, the evidence judged
outside the kernel is the defence.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from typing import Any

from grader.engine import words

#: Functions whose replacement is reported: (module, dotted attribute).
WATCHED = (
    ("builtins", "isinstance"),
    ("builtins", "len"),
    ("builtins", "abs"),
    ("builtins", "all"),
    ("builtins", "any"),
    ("builtins", "sum"),
    ("builtins", "round"),
    ("builtins", "exec"),
    ("builtins", "compile"),
    ("sys", "gettrace"),
    ("sys", "getprofile"),
    ("threading", "gettrace"),
    ("threading", "getprofile"),
    ("math", "isclose"),
    ("numpy", "allclose"),
    ("numpy", "isclose"),
    ("numpy", "array_equal"),
    ("numpy", "all"),
    ("numpy", "abs"),
    ("numpy.testing", "assert_allclose"),
    ("numpy.testing", "assert_array_equal"),
    ("numpy.testing", "assert_array_almost_equal"),
    ("numpy.testing", "assert_almost_equal"),
    ("numpy.testing", "assert_equal"),
    ("torch", "allclose"),
    ("torch", "isclose"),
    ("torch", "equal"),
    ("torch.testing", "assert_close"),
    ("IPython.display", "display"),
    ("IPython.core.display_functions", "display"),
)

#: The findings the probe itself reports (message ids of :mod:`grader.engine.words`).
PROBE_FINDINGS = frozenset(
    {
        "tamper-replaced",
        "tamper-replaced-by-class",
        "tamper-module",
        "tamper-on-instance",
        "tamper-always-equal",
    }
)

#: Shell methods whose replacement is reported.
SHELL_METHODS = (
    "showtraceback",
    "_showtraceback",
    "showsyntaxerror",
    "run_cell",
    "run_cell_async",
    "_run_cell",
    "run_ast_nodes",
    "run_code",
    "transform_cell",
    "user_expressions",
    "ev",
    "CustomTB",
)

PROBE_SOURCE = r"""
def probe(trusted, watched, methods):
    import json, sys, threading, types
    from IPython import get_ipython
    ip = get_ipython()

    def origin(f):
        f = getattr(f, "__func__", f)
        if type(f).__name__ == "_lru_cache_wrapper":  # functools.cache: judge what it wraps
            f = getattr(f, "__wrapped__", f)
        impl = getattr(f, "_implementation", None)  # numpy's array-function dispatchers
        if impl is not None:
            f = impl
        code = getattr(f, "__code__", None)
        if code is not None:
            return code.co_filename
        if type(f).__name__ == "builtin_function_or_method":
            return "<builtin>"
        return "<" + type(f).__name__ + ">"

    def installed(path):  # a file of the libraries or of this project's installed code
        return isinstance(path, str) and path.startswith(trusted)

    def ok(f, name=None):
        where = origin(f)
        if where == "<builtin>":
            return name is None or getattr(f, "__name__", None) == name
        if where == "<ufunc>":
            numpy = sys.modules.get("numpy")
            return numpy is not None and vars(numpy).get(getattr(f, "__name__", "")) is f
        return installed(where)

    def name_of(f):
        return getattr(f, "__module__", "?") + "." + getattr(f, "__qualname__", type(f).__name__)

    def module_trusted(name):
        if not isinstance(name, str) or name == "__main__":  # the notebook's own code
            return False
        if name == "builtins" or name in sys.builtin_module_names:
            return True
        return installed(getattr(sys.modules.get(name), "__file__", None))

    def attribute_ok(f):
        # a class by the module that defines it; an alias (list[int], typing.Optional[int]) by
        # what it stands for; anything else callable by its code
        if isinstance(f, type):
            return module_trusted(getattr(f, "__module__", None))
        if isinstance(f, types.GenericAlias) or type(f).__module__ == "typing":
            stands_for = getattr(f, "__origin__", None)
            return stands_for is None or attribute_ok(stands_for)
        return ok(f)

    def replaced(target, f):  # a finding: [message id, its values] (engine.words)
        if isinstance(f, type):
            return ["tamper-replaced-by-class",
                    {"target": target, "cls": f.__qualname__,
                     "module": getattr(f, "__module__", "?")}]
        return ["tamper-replaced", {"target": target, "origin": origin(f)}]

    found = []
    for module, attr in watched:
        mod = sys.modules.get(module)
        if mod is None:
            continue
        f = getattr(mod, attr, None)
        if f is not None and not ok(f, attr):
            found.append(["tamper-replaced", {"target": module + "." + attr, "origin": origin(f)}])
    for module in sorted(sys.modules):
        if module == "grader" or module.startswith("grader."):
            mod = sys.modules[module]
            where = getattr(mod, "__file__", None)
            if not isinstance(mod, types.ModuleType) or not installed(where):
                found.append(["tamper-module", {"module": module}])
                continue
            for attr, f in list(vars(mod).items()):
                if callable(f) and not attribute_ok(f):
                    found.append(replaced(module + "." + attr, f))
    for name in methods:
        if name in vars(ip):
            found.append(["tamper-on-instance", {"target": "shell." + name}])
        f = getattr(type(ip), name, None)
        if f is None or not ok(f):
            found.append(["tamper-replaced", {"target": "shell." + name, "origin": origin(f)}])
    stack, always_equal = list(type.__subclasses__(object)), []
    while stack:
        cls = stack.pop()
        try:
            stack.extend(type.__subclasses__(cls))
        except TypeError:
            continue
        if getattr(cls, "__module__", "") != "__main__":  # first: the cheaper test, per class
            continue
        eq = vars(cls).get("__eq__")
        if eq is None or ok(eq):
            continue
        try:
            equal = eq(None, object()) is True and eq(None, None) is True
        except Exception:
            equal = False
        if equal:
            always_equal.append(cls.__qualname__)
    found += [["tamper-always-equal", {"cls": n}] for n in sorted(set(always_equal))]
    callbacks = []
    for event, handlers in ip.events.callbacks.items():
        for h in handlers:
            if not ok(h):
                callbacks.append("%s: %s" % (event, name_of(h)))
    return json.dumps({
        "cleanup": [name_of(f) for f in ip.input_transformers_cleanup],
        "post": [name_of(f) for f in ip.input_transformers_post],
        "ast": [name_of(type(t)) for t in ip.ast_transformers],
        "custom_exceptions": [getattr(e, "__name__", repr(e)) for e in ip.custom_exceptions],
        "callbacks": callbacks,
        "trace": sys.gettrace() is not None,
        "profile": sys.getprofile() is not None or threading.getprofile() is not None,
        "found": found,
    })
"""


def probe_expression(trusted_prefixes: Sequence[str]) -> str:
    """The user expression that runs the probe; ``trusted_prefixes``: where library code lives."""
    source, prefixes = repr(PROBE_SOURCE), repr(tuple(trusted_prefixes))
    return (
        f"(lambda g={{}}: (exec(compile({source}, '<grader-probe>', 'exec'), g), "
        f"g['probe']({prefixes}, {WATCHED!r}, {SHELL_METHODS!r}))[1])()"
    )


def finding(message_id: str, /, **values: object) -> words.Message:
    """A finding: message ``message_id`` of :mod:`grader.engine.words` with its values as text
    (what the kernel reports may be any JSON: text is hashable and reads the same)."""
    return words.message(message_id, **{name: str(value) for name, value in values.items()})


class ProbeError(words.MessageError, ValueError):
    """The probe's answer could not be read (itself a sign of tampering): a finding, as its
    ``message``."""


def parse_reply(reply_content: Mapping[str, Any]) -> dict[str, Any]:
    """Read the probe's report out of an execute reply (no eval of kernel data beyond literals)."""
    if reply_content.get("status") != "ok":
        raise ProbeError("probe-failed", error=reply_content.get("ename", "error"))
    expressions = reply_content.get("user_expressions") or {}
    answer = expressions.get("probe") if isinstance(expressions, Mapping) else None
    if not isinstance(answer, Mapping) or answer.get("status") != "ok":
        reason = answer.get("ename", "no answer") if isinstance(answer, Mapping) else "no answer"
        raise ProbeError("probe-not-run", reason=reason)
    text = (answer.get("data") or {}).get("text/plain")
    if not isinstance(text, str):
        raise ProbeError("probe-unreadable")
    try:
        report = json.loads(ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError) as error:
        raise ProbeError("probe-unreadable") from error
    if not isinstance(report, dict):
        raise ProbeError("probe-unreadable")
    return report


def _reported(item: Any) -> words.Message:
    """A finding as the probe reports it (``[message id, {name: value}]``); anything else, or
    a message the probe does not send, is an unreadable answer (the kernel is untrusted)."""
    if (
        isinstance(item, list)
        and len(item) == 2
        and item[0] in PROBE_FINDINGS
        and isinstance(item[1], dict)
    ):
        reported = finding(item[0], **{str(name): value for name, value in item[1].items()})
        try:
            reported.text()
        except (KeyError, IndexError, ValueError):  # not the message's values
            return finding("probe-unreadable")
        return reported
    return finding("probe-unreadable")


def findings(baseline: Mapping[str, Any] | None, report: Mapping[str, Any]) -> list[words.Message]:
    """What changed since the baseline report (empty when nothing did)."""
    base = baseline or {}
    known_found = {_reported(item) for item in base.get("found", [])}
    found = [f for f in map(_reported, report.get("found", [])) if f not in known_found]
    for key, message_id in (
        ("cleanup", "tamper-input-transformer"),
        ("post", "tamper-input-transformer"),
        ("ast", "tamper-ast-transformer"),
    ):
        known = list(base.get(key, []))
        for name in report.get(key, []):
            if name in known:
                known.remove(name)
            else:
                found.append(finding(message_id, name=name))
    found += [
        finding("tamper-exception-handler", exception=e)
        for e in report.get("custom_exceptions", [])
    ]
    known_callbacks = set(base.get("callbacks", []))
    found += [
        finding("tamper-callback", callback=c)
        for c in report.get("callbacks", [])
        if c not in known_callbacks
    ]
    if report.get("trace") and not base.get("trace"):
        found.append(finding("tamper-trace"))
    if report.get("profile") and not base.get("profile"):
        found.append(finding("tamper-profile"))
    return found
