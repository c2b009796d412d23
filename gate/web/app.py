"""The ranger page's FastAPI app: sign-in, live decisions (SSE), manual open, gate status, today's counts.

It runs inside ``qaqpa-gate run`` (``RangerServer``) and talks to the controller in the same process, so
it works with no network to the server. Every text a ranger reads comes from gate.locale's catalogues.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
import cv2
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import TypeAdapter, ValidationError

from gate.controller import GateController
from gate.decision import local_day, park_zone
from gate.disk import DiskFullError
from gate.errors import GateError
from gate.locale import LANGUAGES, pick_language, reason_text, role_text, translator
from gate.web.feed import Feed
from gate.web.headers import SecurityHeaders
from gate.web.sessions import Session, Sessions, SignInError, feed_card_login
from protocol import CardRole
from protocol.fields import Note

log = logging.getLogger(__name__)

SESSION_COOKIE = "qaqpa_ranger"
PENDING_COOKIE = "qaqpa_login"
LANG_COOKIE = "qaqpa_lang"
FEED_WAIT_S = 10.0  # an SSE comment keeps the stream (and proxies) alive this often
FEED_HISTORY = 20
JPEG_QUALITY = 70
PREVIEW_WIDTH = 640  # the camera preview is scaled down: a phone on the gate's Wi-Fi fetches it every 2 s

_env = Environment(loader=PackageLoader("gate.web", "templates"), autoescape=select_autoescape(["html"]))
# the manual open's reason and note: text a person typed (protocol.fields.Note), checked before anything is
# recorded, as the server checks the event's note again
_NOTE: TypeAdapter[str] = TypeAdapter(Note)


def _lang(request: Request) -> str:
    return pick_language(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))


def _session_of(request: Request) -> Session:
    sessions: Sessions = request.app.state.sessions
    session = sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise HTTPException(401, "sign in")
    return session


SessionDep = Annotated[Session, Depends(_session_of)]


def create_app(controller: GateController, pin_hash: str = "", session_hours: float = 12.0) -> FastAPI:
    """The ranger page over a (started or not) controller; adds a decision listener to it."""
    sessions = Sessions(pin_hash, session_hours * 3600)
    feed = Feed(
        holder=lambda uid: None if (card := controller.store.lookup_card(uid)) is None else card.holder,
        on_item=feed_card_login(sessions, controller.store.lookup_card),
        crop=controller.plate_crop,
    )
    controller.add_listener(feed)
    app = FastAPI(title="Qaqpa ranger page", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.feed = feed
    app.state.sessions = sessions
    app.mount("/static", StaticFiles(packages=[("gate.web", "static")]), name="static")
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(HTTPException)
    async def to_login(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/login", 303)
        return JSONResponse({"detail": exc.detail}, exc.status_code)

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = _lang(request)
        html = _env.get_template(name).render(_=translator(lang), lang=lang, languages=LANGUAGES, **context)
        return HTMLResponse(html, status)

    def local_time(at: float, fmt: str = "%H:%M:%S") -> str:
        park = controller.store.park()
        zone = park_zone(park.timezone if park else "Asia/Almaty")
        return datetime.fromtimestamp(at, UTC).astimezone(zone).strftime(fmt)

    def status_view() -> dict[str, Any]:
        status = controller.status()
        now = status["clock"]["now"]
        status["today"] = controller.store.day_counts(local_day(now, controller.store.park()))
        last_sync = status["last_sync_at"]
        # the sync is stamped with the system clock, which may be the wrong one (a Pi without RTC at 1970 whose
        # time came back from the server): shown on the gate's own time line, as long ago as it really was
        status["last_sync_text"] = (
            None if last_sync is None else local_time(last_sync + now - time.time(), "%Y-%m-%d %H:%M")
        )
        status["clock_text"] = local_time(now, "%Y-%m-%d %H:%M:%S")
        return status

    def item_view(item: dict[str, Any], lang: str) -> dict[str, Any]:
        view = dict(item)
        view["reason_text"] = reason_text(item["reason"], lang)
        view["time"] = local_time(item["at"])
        card = item["card"]
        if card is not None and card["role"] is not None:
            view["role_text"] = role_text(CardRole(card["role"]), lang)
        if item["has_crop"]:
            view["crop_url"] = f"/plate/{feed.mark(item['seq'])}.jpg"
        permit = item["permit"]
        if permit is not None:
            view["valid"] = (
                f"{local_time(permit['valid_from'], '%Y-%m-%d')} – {local_time(permit['valid_until'], '%Y-%m-%d')}"
            )
        return view

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        response = render(request, "login.html", has_pin=bool(pin_hash), error=request.query_params.get("error"))
        response.set_cookie(PENDING_COOKIE, sessions.open_pending(), httponly=True, samesite="strict")
        return response

    def signed_in(response: Response, session: Session) -> Response:
        response.set_cookie(
            SESSION_COOKIE, session.token, httponly=True, samesite="strict", max_age=int(session_hours * 3600)
        )
        response.delete_cookie(PENDING_COOKIE)
        return response

    @app.post("/login")
    def login_pin(pin: Annotated[str, Form(max_length=64)]) -> Response:
        try:
            session = sessions.sign_in_pin(pin)
        except SignInError as err:
            code = "locked" if str(err) == "locked" else "pin"
            return RedirectResponse(f"/login?error={code}", 303)
        return signed_in(RedirectResponse("/", 303), session)

    @app.get("/login/card")
    def login_card(request: Request) -> Response:
        session = sessions.claim_pending(request.cookies.get(PENDING_COOKIE))
        if session is None:
            return JSONResponse({"signed_in": False})
        return signed_in(JSONResponse({"signed_in": True}), session)

    @app.post("/logout")
    def logout(session: SessionDep, csrf: Annotated[str, Form()]) -> Response:
        if not secrets.compare_digest(csrf, session.csrf):
            raise HTTPException(403, "bad form token")
        sessions.end(session.token)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/lang/{code}")
    def choose_language(code: str, request: Request) -> Response:
        if code not in LANGUAGES:
            raise HTTPException(404, "no such language")
        back = request.headers.get("referer") or "/"
        response = RedirectResponse(back if back.startswith(str(request.base_url)) else "/", 303)
        response.set_cookie(LANG_COOKIE, code, samesite="strict", max_age=365 * 86400)
        return response

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, session: SessionDep) -> Response:
        return render_index(request, session, done=request.query_params.get("done"))

    def render_index(request: Request, session: Session, status: int = 200, **context: Any) -> HTMLResponse:
        lang = _lang(request)
        latest = feed.latest(FEED_HISTORY)
        # the page's stream continues after the newest item it shows, so none decided meanwhile is missed
        after = feed.mark(latest[-1]["seq"] if latest else 0)
        items = [item_view(item, lang) for item in reversed(latest)]
        return render(
            request,
            "index.html",
            status,
            s=status_view(),
            items=items,
            after=after,
            csrf=session.csrf,
            by=session.by,
            **context,
        )

    @app.get("/status", response_class=HTMLResponse)
    def status_fragment(request: Request, session: SessionDep) -> Response:
        return render(request, "status.html", s=status_view())

    @app.get("/status.json")
    def status_json(session: SessionDep) -> Response:
        return Response(json.dumps(status_view(), default=str), media_type="application/json")

    @app.get("/events")
    async def events(request: Request, session: SessionDep) -> StreamingResponse:
        lang = _lang(request)
        seq = feed.position(request.headers.get("last-event-id") or request.query_params.get("after"))
        template = _env.get_template("item.html")
        _ = translator(lang)

        async def stream() -> AsyncIterator[str]:
            nonlocal seq
            yield "retry: 2000\n\n"
            while not feed.closed:
                items = await anyio.to_thread.run_sync(feed.wait_after, seq, FEED_WAIT_S)
                if await request.is_disconnected():
                    return
                if not items:
                    yield ": keepalive\n\n"
                    continue
                for item in items:
                    seq = item["seq"]
                    html = template.render(i=item_view(item, lang), _=_).replace("\n", "")
                    yield f"id: {feed.mark(seq)}\nevent: decision\ndata: {html}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/camera.jpg")
    def camera(session: SessionDep) -> Response:
        frame = controller.last_frame
        if frame is None:
            raise HTTPException(404, "no frame yet")
        width = frame.shape[1]
        if width <= PREVIEW_WIDTH:
            return _jpeg(frame)
        height = round(frame.shape[0] * PREVIEW_WIDTH / width)
        return _jpeg(cv2.resize(frame, (PREVIEW_WIDTH, height), interpolation=cv2.INTER_AREA))

    @app.get("/plate/{mark}.jpg")
    def plate_crop(mark: str, session: SessionDep) -> Response:
        seq = feed.position(mark)
        crop = feed.crop(seq) if seq and feed.mark(seq) == mark else None
        if crop is None:
            raise HTTPException(404, "no plate crop for this decision")
        return _jpeg(crop)

    @app.get("/no-read.png")
    def no_read(session: SessionDep) -> Response:
        last = controller.last_no_read
        crop = None if last is None else last.get("crop")
        if not crop or not Path(crop).is_file():
            raise HTTPException(404, "no plate crop")
        return Response(Path(crop).read_bytes(), media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.post("/open")
    def manual_open(
        request: Request,
        session: SessionDep,
        csrf: Annotated[str, Form()],
        reason: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
        people: Annotated[int, Form(ge=0, le=1000)] = 0,
        plate: Annotated[str, Form()] = "",
    ) -> Response:
        if not secrets.compare_digest(csrf, session.csrf):
            raise HTTPException(403, "bad form token")
        _ = translator(_lang(request))
        if not reason.strip():
            return render_index(request, session, 400, error=_("A reason is required"))
        if _has_control_characters(reason) or _has_control_characters(note):
            message = _("The reason and note may not contain control characters")
            return render_index(request, session, 400, error=message)
        try:
            controller.manual_open(reason, note or None, people=people, plate=plate.strip().upper() or None)
        except DiskFullError as err:
            log.error("manual open not recorded: %s", err)
            message = _("Disk full: decisions are not recorded and the barrier stays closed")
            return render_index(request, session, 503, error=message)
        except GateError as err:
            # nothing recorded, so the barrier did not move; the log has the details
            log.error("manual open not recorded: %s", err)
            return render_index(request, session, 400, error=_("Not recorded: the barrier stays closed"))
        return RedirectResponse(f"/?done=opened&t={int(time.time())}", 303)

    return app


def _has_control_characters(text: str) -> bool:
    """Whether ``text`` is refused as a ``Note`` for what it holds (a NUL, another control character, a
    bidi override); a text that is only too long is left to the controller, which refuses it itself."""
    try:
        _NOTE.validate_python(text)
    except ValidationError as err:
        return any(error["type"] != "string_too_long" for error in err.errors())
    return False


def _jpeg(image: Any) -> Response:
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise HTTPException(500, "image could not be encoded")
    return Response(jpeg.tobytes(), media_type="image/jpeg", headers={"Cache-Control": "no-store"})
