"""The chat component of the web app: a Gradio Chatbot that shows what users type as plain text."""

from __future__ import annotations

import html
from abc import ABCMeta

import gradio as gr

from ui import render


class _NoStubComponentMeta(type(gr.Chatbot)):
    """Gradio's component metaclass writes a ``.pyi`` stub beside the module of every component class
    it creates, at import time, into the source tree. Its only other work is wrapping ``__init__`` and
    registering ``EVENTS``, which a subclass defining neither does not need, so such a subclass is
    created as the plain ABC it is."""

    def __new__(mcls, name, bases, attrs):
        if "__init__" in attrs or "EVENTS" in attrs:
            raise TypeError(f"{name}: use gradio's own metaclass for a component with a constructor or events")
        return ABCMeta.__new__(mcls, name, bases, attrs)


class InertChatbot(gr.Chatbot, metaclass=_NoStubComponentMeta):
    """A Chatbot that shows user messages as plain text: questions are escaped on the way to the page
    and restored on the way back, so the chat function and the history always see what was typed.

    The assistant's messages are HTML built by :mod:`ui.render` (document text already escaped). A
    subclass rather than a patched instance, because Gradio rebuilds a session's copy of a component
    from its class when an event updates it (e.g. the label, on a language switch).
    """

    is_template = True  # rendered by the frontend's ordinary chatbot

    def postprocess(self, value):
        data = super().postprocess(value)
        for message in data.root:
            if message.role == "user":
                for content in message.content:
                    if getattr(content, "type", None) == "text":
                        content.text = render.inert(content.text)
        return data

    def preprocess(self, payload):
        messages = super().preprocess(payload)
        for message in messages:
            if message.get("role") == "user":
                for content in message.get("content") or []:
                    if isinstance(content, dict) and content.get("type") == "text":
                        content["text"] = html.unescape(str(content["text"]).replace("<br>", "\n"))
        return messages
