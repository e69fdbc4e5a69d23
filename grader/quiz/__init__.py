"""grader.quiz."""
