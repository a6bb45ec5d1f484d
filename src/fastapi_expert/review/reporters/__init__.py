"""Reporters turn a ReviewResult into text for people or machines."""
