"""The outer layer: the web chat (``build_app``, a Gradio app, and ``serve``; gradio is imported on use) and the command line (:mod:`ui.cli`)."""

from __future__ import annotations

__all__ = ["build_app", "serve"]


def __getattr__(name: str):
    if name in __all__:
        from ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")
