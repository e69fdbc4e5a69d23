"""A simulated class for ``make demo``: submissions and quiz attempts, generated reproducibly."""
