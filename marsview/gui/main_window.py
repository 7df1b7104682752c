"""The main window (the full GUI is built in issue 6)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow


class MainWindow(QMainWindow):
    def __init__(self, paths=None):
        super().__init__()
        self.setWindowTitle("marsview")
        self.setObjectName("mainWindow")
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction("&Quit", self.close)
        menu.addMenu("&View")
        menu.addMenu("&Help")
        central = QLabel("marsview")
        central.setObjectName("centralArea")
        self.setCentralWidget(central)
        self.resize(1280, 800)
