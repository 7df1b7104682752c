from marsview.gui import launch


def test_main_window_opens_with_title_and_menus(qtbot):
    window = launch(show=True)
    qtbot.addWidget(window)
    assert "marsview" in window.windowTitle()
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert "File" in titles
