"""HTTP for a witness: Starlette routes served by uvicorn.

``POST /add-checkpoint`` is the C2SP tlog-witness v1.0 call; ``GET /<sha256(origin) hex>/checkpoint``
serves the latest cosigned checkpoint of a log (the monitoring call of the newer drafts).

Example::

    >>> import tempfile, pathlib
    >>> from ledger.witness.home import init_witness, load_witness
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = init_witness(d, "witness.example/w1")
    >>> with BackgroundServer(make_app(load_witness(d))) as url:
    ...     url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import hashlib
import socket
import threading
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ledger.witness.errors import WitnessConfigError
from ledger.witness.wire import MAX_BODY_BYTES
from ledger.witness.witness import Witness


async def _body(request: Request) -> bytes | None:
    """The request body, or None once it is over the limit (read no further than that)."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def make_app(witness: Witness) -> Starlette:
    """The witness's ASGI application."""

    async def add_checkpoint(request: Request) -> Response:
        raw = await _body(request)
        if raw is None:
            return PlainTextResponse(f"request body over {MAX_BODY_BYTES} bytes\n", 400)
        # Signing and the durable SQLite commit block, so they run off the event loop.
        out = await run_in_threadpool(witness.add_checkpoint, raw)
        # Set verbatim: Starlette would add '; charset=utf-8' to a text/* media type.
        return Response(out.body, out.status, headers={"content-type": out.content_type})

    async def latest(request: Request) -> Response:
        want = request.path_params["origin_hash"]
        for origin in await run_in_threadpool(witness.state.origins):
            if hashlib.sha256(origin.encode()).hexdigest() == want:
                note = await run_in_threadpool(witness.state.note, origin)
                if note is not None:
                    return PlainTextResponse(note)
        return PlainTextResponse("no checkpoint cosigned for that origin\n", 404)

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/{origin_hash:str}/checkpoint", latest, methods=["GET"]),
        ]
    )


def listen(host: str, port: int) -> socket.socket:
    """A bound TCP socket; a port in use or a bad host is one clear error, not a traceback."""
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets, and without
    # it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise WitnessConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    return sock


def serve(witness: Witness, sock: socket.socket) -> None:
    """Serve on a socket from :func:`listen` in the foreground until SIGINT/SIGTERM."""
    uvicorn.Server(uvicorn.Config(make_app(witness), log_level="info")).run(sockets=[sock])


class BackgroundServer:
    """uvicorn in a thread on an already bound socket (port 0: any free port); for tests,
    benchmarks and embedding. ``with BackgroundServer(app) as url: ...``."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = listen(host, port)
        self.host, self.port = host, int(self.sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, args=([self.sock],), daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"witness server on {self.url} did not start")
            self.thread.join(0.01)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
