"""A compact, deterministic description of a Keras model for notebooks and nbval checks."""

from __future__ import annotations


def _shape(layer) -> str:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return "?"
    return "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"


def layer_table(model) -> str:
    """One line per layer (type, output shape, parameters) and the total.

    Unlike ``model.summary()`` it leaves out auto-numbered layer names, so the
    text is the same on every run and can be checked by nbval.
    """
    rows = [(type(layer).__name__, _shape(layer), f"{layer.count_params():,}") for layer in model.layers]
    widths = [max(len(r[i]) for r in rows + [("layer", "output shape", "params")]) for i in range(3)]
    line = "{:<%d}  {:<%d}  {:>%d}" % tuple(widths)
    out = [line.format("layer", "output shape", "params")]
    out += [line.format(*r) for r in rows]
    out.append(f"total parameters: {model.count_params():,}")
    return "\n".join(out)
