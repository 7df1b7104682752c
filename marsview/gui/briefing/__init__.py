"""Briefing (projector) mode, saved views, and the settings the window remembers."""
