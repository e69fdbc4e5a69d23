"""The course's assignments and their notebooks, in teaching order.

The lowest layer of the course: it imports nothing, so that the course model
(:mod:`grader.course`) and the translation build (:mod:`grader.i18n.build`) both read it.
"""

from __future__ import annotations

#: The course's assignments and their notebooks, in teaching order.
COURSE: dict[str, tuple[str, ...]] = {
    "frameworks": ("IntroPyTorch", "IntroKerasTF", "IntroKeras"),
    "overfitting": ("Overfitting",),
    "lab": ("LabFrameworks",),
}
