"""The class report and the LMS exports.

- :mod:`grader.report.collect` gathers what the report shows from the engine's
  ``results.json`` files, nbgrader's gradebook and the quiz store;
- :mod:`grader.report.plots` draws the figures as inline SVG (matplotlib, no pyplot state);
- :mod:`grader.report.render` fills the Jinja2 template shipped in ``templates/``;
- :mod:`grader.report.exports` writes the Canvas, Moodle and per-test CSV files;
- :mod:`grader.report.cli` registers ``grader report`` and ``grader export``.
"""


class ReportError(RuntimeError):
    """The report or an export cannot be made (missing gradebook, unknown assignment...)."""
