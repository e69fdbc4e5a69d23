"""The classroom: the course on a JupyterHub, with feedback on submit.

- :mod:`grader.hub.settings`: one typed description of a classroom (course, exchange, accounts,
  ports), written as JSON for the hub's configuration file and the grading service;
- :mod:`grader.hub.accounts`: the instructor's and the students' Unix accounts;
- :mod:`grader.hub.exchange`: nbgrader's exchange with private submissions, and the release of
  one submission's feedback;
- :mod:`grader.hub.policy`: when and what feedback is released (``nbgrader_config.py``);
- :mod:`grader.hub.ledger`: every submission the service has seen and what became of it;
- :mod:`grader.hub.service`: the grading service the hub manages;
- :mod:`grader.hub.launch`: ``grader hub``, which sets the classroom up, starts the hub and stops
  everything on Ctrl-C or SIGTERM.
"""
