"""The instructor's dashboard: statistics (``stats``) and their HTML/SVG rendering (``render``)."""
