"""The web chat's ``/login`` and ``/logout``: a plain form, a session cookie, and the way back to the chat.

``POST /login`` takes the same form as Gradio's own login route, so ``gradio_client.Client(url,
auth=(name, password))`` signs a script in; a browser's form gets a redirect to the chat, a
script a JSON reply. The page shows nothing a visitor sent.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ui.access import SESSION_SECONDS, Access

__all__ = ["login_page", "login_redirect", "login_routes"]

logger = logging.getLogger(__name__)

_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Вход · Кіру · Sign in</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 24em; margin: 4em auto; padding: 0 1em; }}
label {{ display: block; margin: 1em 0 0.3em; }}
input {{ width: 100%; padding: 0.5em; box-sizing: border-box; font-size: 1em; }}
button {{ margin-top: 1.2em; padding: 0.5em 1.2em; font-size: 1em; }}
.failed {{ color: #b91c1c; }}
</style></head>
<body>
<h1>Вход · Кіру · Sign in</h1>
{failed}<form method="post" action="login">
<label for="username">Имя · Аты · Name</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Пароль · Құпиясөз · Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Войти · Кіру · Sign in</button>
</form>
<p><a href="./">← Чат · Чат · Chat</a></p>
</body></html>
"""
_FAILED = (
    '<p class="failed" id="login-failed">Неверное имя или пароль · Аты не құпиясөз қате · Wrong name or password</p>\n'
)


def login_page(*, failed: bool = False) -> str:
    """The sign-in page (Russian, Kazakh and English at once: it comes before any interface language)."""
    return _PAGE.format(failed=_FAILED if failed else "")


def login_routes(access: Access) -> list[Route]:
    """``GET /login`` (the form), ``POST /login`` (check, then a session cookie) and ``GET /logout``."""

    async def show(request: Request) -> Response:
        return HTMLResponse(login_page())

    async def sign_in(request: Request) -> Response:
        async with request.form(max_files=0, max_fields=8) as form:
            name, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
        token = await asyncio.to_thread(access.sign_in, name, password)  # argon2 off the event loop
        browser = "text/html" in request.headers.get("accept", "")
        if token is None:
            logger.warning("failed sign-in from %s", request.client.host if request.client else "?")
            if browser:
                return HTMLResponse(login_page(failed=True), status_code=401)
            return JSONResponse({"detail": "Incorrect credentials."}, status_code=401)
        response: Response = RedirectResponse("./", status_code=303) if browser else JSONResponse({"success": True})
        # Lax: sent when a link opens the chat, never with another site's requests (no cross-site use).
        response.set_cookie(
            access.cookie, token, max_age=SESSION_SECONDS, httponly=True, samesite="lax",
            secure=request.url.scheme == "https", path="/",
        )  # fmt: skip
        return response

    async def sign_out(request: Request) -> Response:
        access.sign_out(request.cookies.get(access.cookie))
        response = RedirectResponse("./", status_code=303)
        response.delete_cookie(access.cookie, path="/")
        return response

    return [
        Route("/login", show, methods=["GET"]),
        Route("/login", sign_in, methods=["POST"]),
        Route("/login/", sign_in, methods=["POST"]),
        Route("/logout", sign_out, methods=["GET"]),
    ]


async def login_redirect(request: Request, error: Exception) -> Response:
    """A refused request (401): a browser opening the chat goes to the sign-in page; the rest get the error."""
    detail = getattr(error, "detail", "Not authenticated")
    page = request.url.path in ("", "/")
    if page and request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("login", status_code=303)
    return _json(detail)


def _json(detail: object) -> Response:
    return JSONResponse({"detail": detail}, status_code=401)
