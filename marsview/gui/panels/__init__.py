"""The main window's panels: close-approach table, plots, objects and scenario information, time bar, deliveries."""
