"""Evals (`manage.py gaby eval`): a fixture corpus of tickets with known-good outcomes, run through the real engine."""
