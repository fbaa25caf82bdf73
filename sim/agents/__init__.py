"""Agents of the model: practices, consortium leads and the commissioning board (rules are vectorised)."""
