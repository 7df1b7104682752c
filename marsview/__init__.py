"""marsview: see the whole Mars fleet, find every close approach, plan the avoidance maneuver."""

__version__ = "0.1.0"
