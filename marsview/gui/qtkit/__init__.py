"""Small Qt helpers shared by the GUI's rooms (no feature of their own): Qt date/time conversions."""
