"""Quiz import and export formats: the AI-For-Beginners quiz-app JSON and Moodle GIFT."""
