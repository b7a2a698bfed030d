"""Event handlers for Gradio: module-level functions of the app's objects, with those objects given."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable


def bind(handler: Callable, *given: object) -> Callable:
    """``handler`` with its first ``len(given)`` arguments given, for Gradio to call.

    Unlike ``functools.partial``, the result keeps what Gradio reads of a handler: its name (the
    API name of an event), its docstring (an endpoint's description), the signature and type hints
    of the parameters left (an endpoint's parameters; which one receives the ``gr.Request``) and
    whether it is a generator (a reply streamed in steps).

    Args:
        handler: a function whose first parameters are positional.
        given: the values of those first parameters, e.g. the app's :class:`ui.service.Service`.

    Raises:
        TypeError: ``handler`` has fewer leading positional parameters than values given.
    """
    signature = inspect.signature(handler)
    parameters = list(signature.parameters.values())
    taken = parameters[: len(given)]
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if len(taken) < len(given) or any(parameter.kind not in positional for parameter in taken):
        raise TypeError(f"{handler.__name__} has fewer than {len(given)} leading positional parameters")

    if inspect.isgeneratorfunction(handler):

        def bound(*args, **kwargs):
            yield from handler(*given, *args, **kwargs)

    else:

        def bound(*args, **kwargs):
            return handler(*given, *args, **kwargs)

    functools.update_wrapper(bound, handler)  # name, docstring; __wrapped__ for resolving the type hints
    bound.__signature__ = signature.replace(parameters=parameters[len(given) :])
    names = {parameter.name for parameter in taken}
    bound.__annotations__ = {name: hint for name, hint in handler.__annotations__.items() if name not in names}
    return bound
