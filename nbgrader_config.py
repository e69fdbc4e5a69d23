"""nbgrader configuration of the course "Neural network frameworks".

The repository root is the course directory: run nbgrader (or ``grader``) from here.
"""

import os

from grader.kernel_environment import KERNEL_ENVIRONMENT

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "frameworks"

# Kernels inherit this process's environment. Every kernel of the course, a student's
# included, gets the same settings for the libraries' numbers (grader/kernel_environment.py),
# whatever this machine's environment says; TensorFlow's C++ log lines stay off stderr.
os.environ.update(KERNEL_ENVIRONMENT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Per-cell budget: the longest cell of the course (training in the lab) takes a few seconds
# on a laptop; a cell that runs this long is stuck, so it is interrupted and scores 0.
c.Execute.timeout = 120
c.Execute.startup_timeout = 120

# When the last cell has run, the kernel's process group is killed instead of asked to exit:
# every output is already collected, and an orderly exit with PyTorch or TensorFlow loaded
# costs 1 to 2 s of CPU per notebook (docs/performance.md) in every autograde and Validate.
# It also ends whatever the student's code left running in the kernel's process group.
c.Execute.shutdown_kernel = "immediate"

# A warning or a log line on stderr is not a failure: failures raise. Drop every stderr
# stream before scoring so that a correct answer that warns keeps its points. The pattern
# matches every text, a lone newline included: the kernel may send `print(..., file=sys.stderr)`
# as two streams ("debug" now, its newline a moment later), and a pattern that needs a
# visible character would keep the newline and cost the cell its points by chance.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"^"

# A student who deletes a test cell gets it back (graded) instead of "needs manual grading".
c.OverwriteCells.add_missing_cells = True

# The engine's results.json (every test's output, hidden tests included) stays with the
# instructor: nbgrader's generate_feedback copies every other file of autograded/ to feedback/.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "results.json"]

# Similar work (`grader similarity`, the class report's "Similar work" section): answers are
# compared with copydetect after the released starter code is removed. A pair of students is
# listed when one answer cell scores at least cell_threshold (0..1). Chosen on the course's
# independently written correct answers (the reference and tests/alternatives/, every pair,
# every cell, 180 pairs): the highest scores 0.68 (the same in every run: fingerprints use a
# stable hash); a disguised copy scores 0.88 to 1.
# See docs/report.md. Similarity is a reason to look, never a verdict.
c.SimilaritySettings.cell_threshold = 0.8
c.SimilaritySettings.min_tokens = 40  # shorter answers say nothing
c.SimilaritySettings.common_fraction = 0.3  # code most of the class writes alike does not count
c.SimilaritySettings.max_group = 3  # identical wrong outputs shared by at most this many

# Feedback on submit in the classroom (`grader hub`, docs/classroom.md): the grading service
# grades each submission as it arrives and releases its feedback by these rules.
# - release: "on_submit" (default: students learn while they still work on it) or "after_due"
#   (graded at once, released when the due date set in Formgrader has passed).
# - before_due: "public" (default: before the due date a test with a hidden part shows neither
#   its result nor its message, only the total score does, so hidden tests cannot be read off
#   feedback) or "all" (every test's result and message). After the due date: everything.
# - per_hour: graded submissions per student and assignment in any hour (default 6): enough to
#   fix and resubmit, too few to probe hidden tests by trial. One over the limit is kept, the
#   student is told when it will be graded, and it is graded then (the latest one waiting).
# - counts: the gradebook keeps the last graded submission, as nbgrader does.
c.FeedbackPolicy.release = "on_submit"
c.FeedbackPolicy.before_due = "public"
c.FeedbackPolicy.per_hour = 6
c.FeedbackPolicy.counts = "last"
