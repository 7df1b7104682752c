"""A cheaper per-draw step of vispy's ModularProgram, the shader program behind every vispy visual.

Before each draw, ``ModularProgram.update_variables`` re-sorts the program's ~20 template variables by their
compiled names and emits a debug log call per variable, only to find that nothing changed: ~0.1 ms of Python
per visual per frame, a tenth of what a visual's draw costs. The replacement keeps the sorted
(variable, name) list until the program is rebuilt (vispy assigns a new ``_variables`` list on every build) and
sends exactly what vispy sends: each variable whose ``state_id`` changed since it was last sent, in the same
order, then the pending gloo variables (tests/render/test_draw_uploads.py compares a whole scene's frames
pixel for pixel with vispy's own method).

``install()`` is idempotent and does nothing on vispy versions it was not checked against.
"""

from __future__ import annotations

CHECKED_VISPY = ("0.17",)  # the method replaced was read in this version
_installed = False
originals: dict = {}


def _update_variables_cached(self) -> None:
    order = getattr(self, "_marsview_variable_order", None)
    if order is None or order[0] is not self._variables:
        deps = sorted(self._variables, key=lambda d: self.compiler[d])
        order = (self._variables, [(d, self.compiler[d]) for d in deps])
        self._marsview_variable_order = order
    cache = self._variable_cache
    for dep, name in order[1]:
        state_id = dep.state_id
        if cache.get(dep, None) != state_id:
            self[name] = dep.value
            cache[dep] = state_id
    self._process_pending_variables()
    self._pending_variables = {}


def install() -> bool:
    """Swap in the cached variable update (once). False when this vispy version was not checked."""
    global _installed
    if _installed:
        return True
    import vispy

    if not vispy.__version__.startswith(CHECKED_VISPY):
        return False
    from vispy.visuals.shaders.program import ModularProgram

    if not all(hasattr(ModularProgram, a) for a in ("update_variables", "build_if_needed")):
        return False
    originals["update_variables"] = ModularProgram.update_variables
    ModularProgram.update_variables = _update_variables_cached
    _installed = True
    return True


def uninstall() -> None:
    """vispy's own method again (for the equivalence test)."""
    global _installed
    if _installed:
        from vispy.visuals.shaders.program import ModularProgram

        ModularProgram.update_variables = originals["update_variables"]
        _installed = False
