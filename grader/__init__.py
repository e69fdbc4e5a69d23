"""Auto-graded notebooks and quizzes for the lesson "Neural network frameworks".

Rooms:
- ``grader.checks``: what notebook test cells call; runs inside the student's kernel.
- ``grader.engine``: the trusted side that executes, judges and records submissions.
- ``grader.quiz``: the pre- and post-lecture quizzes.
- ``grader.data``: offline datasets with fixed splits.
- ``grader.evidence``: the evidence format shared by both sides.
"""

__version__ = "0.1.0"
