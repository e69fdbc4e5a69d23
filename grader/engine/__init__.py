"""grader.engine."""
