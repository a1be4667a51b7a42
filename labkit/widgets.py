"""Interactive controls that degrade gracefully: a static figure first, then the widget.

Headless runs (papermill, nbval) and the published book cannot move a slider,
so every interactive view first draws its figure once with the default values.
"""

from __future__ import annotations

import matplotlib.pyplot as plt


def static_then_interactive(draw, **controls):
    """Call ``draw(**defaults)`` once and show it, then offer sliders for the same function.

    ``controls`` maps each argument of ``draw`` to an ipywidgets control (whose
    ``value`` is the default) or to a plain value. ``draw`` must return a Figure.
    Returns the static figure.
    """
    defaults = {name: getattr(c, "value", c) for name, c in controls.items()}
    fig = draw(**defaults)
    plt.show()
    try:
        import ipywidgets
        from IPython import get_ipython
    except ImportError:
        print("(install ipywidgets for the interactive version of this figure)")
        return fig
    if get_ipython() is None:
        return fig

    def redraw(**values):
        draw(**values)
        plt.show()

    ipywidgets.interact(redraw, **controls)
    return fig
