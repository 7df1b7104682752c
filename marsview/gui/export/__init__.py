"""File → Export: screenshots (the off-screen view), the close-approach report (HTML, PDF, CSV)."""
