"""The console's routes on the admin HTTP server, under `/console/`.

Every page is rendered on the server from the same use cases the gRPC API calls
(`service.webhooks.Webhooks`, `service.messages.Messages`) for the caller the signed-in
key names, so a page shows exactly what that key may see through the API. Pages carry
no script at all, and the Content-Security-Policy says so.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from hooksmith_server import domain, errors
from hooksmith_server.console import views
from hooksmith_server.console.session import COOKIE, Session, Sessions
from hooksmith_server.service.messages import Messages
from hooksmith_server.service.webhooks import Webhooks

log = logging.getLogger(__name__)

PREFIX = "/console"
CSP = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No script of any origin, inline or not; styles only from the console's own sheet."""
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
HISTORY_PAGE_SIZE = 25
WEBHOOKS_PAGE_SIZE = 50
TABS = tuple((s.value.lower(), s.value.title(), s) for s in views.STATUSES)
"""The history's tabs: one per status, Succeeded first."""
_STATUS = {
    errors.InvalidArgument: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.FailedPrecondition: 409,
    errors.Aborted: 409,
    errors.AlreadyExists: 409,
    errors.ResourceExhausted: 429,
    errors.Unavailable: 503,
}

Metadata = Iterable[tuple[str, str | bytes]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class KeyCheck(Protocol):
    """Who an API key belongs to (the gRPC API's `api.auth.Authenticator`)."""

    async def authenticate(self, metadata: Metadata | None) -> domain.Caller: ...


class CsrfRefused(Exception):
    """A form came without the token of the session it was posted in."""


def status_of(error: errors.HooksmithError) -> int:
    for kind, status in _STATUS.items():
        if isinstance(error, kind):
            return status
    return 500


class Console:
    """The pages, for one set of use cases and one session key."""

    def __init__(
        self,
        webhooks: Webhooks,
        messages: Messages,
        keys: KeyCheck,
        sessions: Sessions,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._webhooks = webhooks
        self._messages = messages
        self._keys = keys
        self._sessions = sessions
        self._clock = clock
        self._templates = jinja2.Environment(
            loader=jinja2.PackageLoader("hooksmith_server.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._templates.filters["when"] = views.when
        self._templates.filters["took"] = views.took
        self._templates.filters["pretty"] = views.pretty
        self._stylesheet = (
            resources.files("hooksmith_server.console")
            .joinpath("static", "console.css")
            .read_bytes()
        )

    def mount(self, app: web.Application) -> None:
        """Add the console's routes to `app` (before it starts)."""
        r = app.router
        r.add_get(PREFIX, self._wrap(self._home))
        r.add_get(f"{PREFIX}/", self._wrap(self._home))
        r.add_get(f"{PREFIX}/static/console.css", self._css)
        r.add_get(f"{PREFIX}/login", self._wrap(self._login_form))
        r.add_post(f"{PREFIX}/login", self._wrap(self._login))
        r.add_post(f"{PREFIX}/logout", self._wrap(self._logout))
        r.add_get(f"{PREFIX}/webhooks", self._wrap(self._webhooks_page))
        r.add_get(f"{PREFIX}/history", self._wrap(self._history_page))
        r.add_get(f"{PREFIX}/messages/{{id}}", self._wrap(self._message_page))
        r.add_post(f"{PREFIX}/messages/{{id}}/retry", self._wrap(self._retry))
        r.add_get(f"{PREFIX}/preview", self._wrap(self._preview_page))
        r.add_post(f"{PREFIX}/preview", self._wrap(self._preview))

    # -- plumbing ---------------------------------------------------------------------

    def _wrap(self, handler: Handler) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                response = await handler(request)
            except web.HTTPException as e:
                # Redirects are raised, as aiohttp wants; they carry the headers too.
                e.headers.update(SECURITY_HEADERS)
                raise
            except CsrfRefused:
                response = self._render(
                    request,
                    "error.html",
                    None,
                    status=403,
                    title="Form refused",
                    message=(
                        "The form came without its CSRF token, or with one of another "
                        "session. Open the page again and send the form from there."
                    ),
                )
            except errors.HooksmithError as e:
                response = self._render(
                    request,
                    "error.html",
                    await self._session_caller(request),
                    status=status_of(e),
                    title=type(e).__name__,
                    message=e.message,
                )
            response.headers.update(SECURITY_HEADERS)
            return response

        return handle

    def _session(self, request: web.Request) -> Session | None:
        return self._sessions.open(request.cookies.get(COOKIE))

    async def _session_caller(self, request: web.Request) -> domain.Caller | None:
        session = self._session(request)
        if session is None or session.api_key is None:
            return None
        try:
            return await self._keys.authenticate([("authorization", f"Bearer {session.api_key}")])
        except errors.HooksmithError:
            return None

    async def _caller(self, request: web.Request) -> domain.Caller:
        """The signed-in caller; otherwise a redirect to the sign-in page."""
        session = self._session(request)
        if session is not None and session.api_key is not None:
            try:
                return await self._keys.authenticate(
                    [("authorization", f"Bearer {session.api_key}")]
                )
            except errors.Unauthenticated:
                pass  # revoked since: sign in again
        target = request.path_qs if request.method == "GET" else f"{PREFIX}/webhooks"
        raise web.HTTPSeeOther(f"{PREFIX}/login?{urlencode({'next': target})}")

    async def _form(self, request: web.Request) -> tuple[Session, Any]:
        """The posted form, once its CSRF token is the session's."""
        form = await request.post()
        session = self._session(request)
        if session is None or not self._sessions.csrf_ok(session, form.get("csrf")):
            raise CsrfRefused()
        return session, form

    def _render(
        self,
        request: web.Request,
        template: str,
        caller: domain.Caller | None,
        *,
        status: int = 200,
        session: Session | None = None,
        **context: Any,
    ) -> web.Response:
        """A page; a visitor without a session gets one, so every form has a token."""
        current = session or self._session(request)
        fresh = current is None
        if current is None:
            current = self._sessions.new()
        html = self._templates.get_template(template).render(
            caller=caller,
            csrf=self._sessions.csrf_token(current),
            prefix=PREFIX,
            path=request.path,
            **context,
        )
        response = web.Response(text=html, status=status, content_type="text/html")
        if fresh or session is not None:
            self._set_cookie(request, response, current)
        return response

    def _set_cookie(self, request: web.Request, response: web.StreamResponse, s: Session) -> None:
        response.set_cookie(
            COOKIE,
            self._sessions.seal(s),
            max_age=int(self._sessions.ttl),
            path=PREFIX,
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )

    async def _css(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=self._stylesheet,
            content_type="text/css",
            headers={**SECURITY_HEADERS, "Cache-Control": "max-age=300"},
        )

    async def _all_webhooks(self, caller: domain.Caller) -> dict[str, domain.Webhook]:
        """Every webhook of the workspace, archived ones too, by id (for names)."""
        found: dict[str, domain.Webhook] = {}
        token = ""
        while True:
            page, token = await self._webhooks.list(
                caller, page_size=100, page_token=token, show_archived=True
            )
            found.update((w.id, w) for w in page)
            if not token:
                return found

    # -- signing in and out -----------------------------------------------------------

    async def _home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther(f"{PREFIX}/webhooks")

    async def _login_form(self, request: web.Request) -> web.StreamResponse:
        return self._render(
            request, "login.html", None, next=_safe_next(request.query.get("next")), error=None
        )

    async def _login(self, request: web.Request) -> web.StreamResponse:
        _, form = await self._form(request)
        key = str(form.get("key", "")).strip()
        target = _safe_next(str(form.get("next", "")))
        error = None
        if not key:
            error = "Enter an API key."
        else:
            try:
                caller = await self._keys.authenticate([("authorization", f"Bearer {key}")])
            except errors.Unauthenticated as e:
                error = f"Not signed in: {e.message}."
            else:
                if caller.scope is not domain.Scope.CONSOLE:
                    error = (
                        f"Not signed in: this is a {caller.scope.value}-scope key; "
                        "the console needs a console-scope key."
                    )
        if error is not None:
            return self._render(request, "login.html", None, status=401, next=target, error=error)
        response = web.HTTPSeeOther(target)
        # A new nonce on signing in: a token seen before it is worth nothing after.
        self._set_cookie(request, response, self._sessions.new(api_key=key))
        raise response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        await self._form(request)
        response = web.HTTPSeeOther(f"{PREFIX}/login")
        self._set_cookie(request, response, self._sessions.new())
        raise response

    # -- pages ------------------------------------------------------------------------

    async def _webhooks_page(self, request: web.Request) -> web.StreamResponse:
        caller = await self._console_caller(request)
        now = self._clock()
        archived = request.query.get("archived") == "1"
        page, next_token = await self._webhooks.list(
            caller,
            page_size=WEBHOOKS_PAGE_SIZE,
            page_token=request.query.get("page", ""),
            show_archived=archived,
        )
        counts = await self._messages.hourly_counts(caller, now=now, hours=views.CHART_HOURS)
        activity = views.activity(counts)
        rows = [
            {
                "webhook": w,
                "health": views.health(w.health, now),
                "activity": activity.get(uuid.UUID(w.id)),
            }
            for w in page
        ]
        next_url = (
            f"{PREFIX}/webhooks?{urlencode({'page': next_token, 'archived': int(archived)})}"
            if next_token
            else None
        )
        return self._render(
            request,
            "webhooks.html",
            caller,
            statuses=[key for key, _, _ in TABS],
            rows=rows,
            archived=archived,
            next_url=next_url,
        )

    async def _history_page(self, request: web.Request) -> web.StreamResponse:
        caller = await self._console_caller(request)
        q = request.query
        tab = q.get("status", TABS[0][0])
        statuses = [status for key, _, status in TABS if key == tab]
        if not statuses:
            raise errors.InvalidArgument.field(
                "status", f"{tab!r} is not one of {', '.join(k for k, _, _ in TABS)}"
            )
        filters = {
            "webhook": q.get("webhook", ""),
            "user": q.get("user", ""),
            "label": q.get("label", ""),
            "from": q.get("from", ""),
            "to": q.get("to", ""),
        }
        webhooks = await self._all_webhooks(caller)
        if filters["webhook"] and filters["webhook"] not in webhooks:
            raise errors.NotFound(f"webhook {filters['webhook']} not found")
        page, next_token = await self._messages.history(
            caller,
            webhook_id=filters["webhook"],
            statuses=statuses,
            kind=None,
            user_id=filters["user"].strip(),
            start_time=views.moment(filters["from"], "from"),
            end_time=views.moment(filters["to"], "to"),
            labels=views.label(filters["label"]),
            page_size=HISTORY_PAGE_SIZE,
            page_token=q.get("page", ""),
        )
        kept = {k: v for k, v in filters.items() if v}
        tabs = [
            {
                "key": key,
                "title": title,
                "url": f"{PREFIX}/history?{urlencode({**kept, 'status': key})}",
                "current": key == tab,
            }
            for key, title, _ in TABS
        ]
        next_url = (
            f"{PREFIX}/history?{urlencode({**kept, 'status': tab, 'page': next_token})}"
            if next_token
            else None
        )
        first_url = (
            f"{PREFIX}/history?{urlencode({**kept, 'status': tab})}" if "page" in q else None
        )
        return self._render(
            request,
            "history.html",
            caller,
            tabs=tabs,
            tab=tab,
            filters=filters,
            webhooks=sorted(webhooks.values(), key=lambda w: w.spec.name.lower()),
            names={w.id: w.spec.name for w in webhooks.values()},
            messages=page,
            next_url=next_url,
            first_url=first_url,
        )

    async def _message_page(self, request: web.Request) -> web.StreamResponse:
        caller = await self._console_caller(request)
        message = await self._messages.get(caller, request.match_info["id"])
        webhook: domain.Webhook | None
        try:
            webhook = await self._webhooks.get(caller, str(message.webhook_id))
        except errors.NotFound:
            webhook = None
        return self._render(
            request,
            "message.html",
            caller,
            message=message,
            webhook=webhook,
            retried=request.query.get("retried") == "1",
            attempts=list(reversed(message.attempts)),
        )

    async def _retry(self, request: web.Request) -> web.StreamResponse:
        caller = await self._console_caller(request)
        await self._form(request)
        message = await self._messages.retry(caller, request.match_info["id"])
        raise web.HTTPSeeOther(f"{PREFIX}/messages/{message.id}?retried=1")

    async def _preview_page(self, request: web.Request) -> web.StreamResponse:
        caller = await self._console_caller(request)
        webhooks = await self._active_webhooks(caller)
        chosen = request.query.get("webhook") or (webhooks[0].id if webhooks else "")
        picked = next((w for w in webhooks if w.id == chosen), None)
        data = dict.fromkeys(picked.data_fields, "") if picked else {}
        form = {
            "webhook": chosen,
            "user": "",
            "tags": "{}",
            "data": views.pretty(json.dumps(data, ensure_ascii=False)),
        }
        return self._render(
            request, "preview.html", caller, webhooks=webhooks, form=form, result=None, error=None
        )

    async def _preview(self, request: web.Request) -> web.StreamResponse:
        caller = await self._console_caller(request)
        _, posted = await self._form(request)
        webhooks = await self._active_webhooks(caller)
        form = {k: str(posted.get(k, "")) for k in ("webhook", "user", "tags", "data", "action")}
        result: dict[str, Any] | None = None
        error = None
        try:
            if not form["webhook"]:
                raise errors.InvalidArgument.field("webhook", "choose a webhook")
            recipient = domain.Recipient(
                user_id=form["user"].strip(), tags=views.json_object(form["tags"], "tags")
            )
            data = views.json_object(form["data"], "data")
            if form["action"] == "send":
                if not recipient.user_id:
                    raise errors.InvalidArgument.field(
                        "user", "a test is sent to a user: enter one"
                    )
                sent = await self._messages.send_test(caller, form["webhook"], [recipient], data)
                result = {"sent": sent[0], "preview": None}
            elif form["action"] == "render":
                preview = await self._webhooks.preview(
                    caller,
                    webhook_id=form["webhook"],
                    draft=None,
                    version=0,
                    recipient=recipient,
                    data=data,
                    # A page on a screen shows secrets as history does: masked.
                    mask_secrets=True,
                )
                result = {"preview": preview, "sent": None}
            else:
                raise errors.InvalidArgument.field("action", "press Render or Send test")
        except errors.InvalidArgument as e:
            error = e.message
        except (errors.NotFound, errors.FailedPrecondition) as e:
            error = e.message
        return self._render(
            request,
            "preview.html",
            caller,
            status=200 if error is None else 400,
            webhooks=webhooks,
            form=form,
            result=result,
            error=error,
        )

    async def _console_caller(self, request: web.Request) -> domain.Caller:
        caller = await self._caller(request)
        if caller.scope is not domain.Scope.CONSOLE:
            raise errors.PermissionDenied("the console needs a console-scope key")
        return caller

    async def _active_webhooks(self, caller: domain.Caller) -> list[domain.Webhook]:
        every = await self._all_webhooks(caller)
        active = [w for w in every.values() if w.state is domain.WebhookState.ACTIVE]
        return sorted(active, key=lambda w: w.spec.name.lower())


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page, never another site."""
    if target and target.startswith(f"{PREFIX}/") and not any(c in target for c in "\\:"):
        return target
    return f"{PREFIX}/webhooks"
