"""The baseline every scenario is compared to: a bare Starlette app whose `POST /track`
reads the body, parses it with orjson and answers `{"ok": true}`. No validation, no
storage: the most a Python ASGI collector can do on this machine, served by uvicorn
exactly as `kith serve` is (uvloop, httptools, no access log, one worker).

    python -m bench.baseline --port 8687
"""

from __future__ import annotations

import argparse

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_OK = orjson.dumps({"ok": True})

#: The uvicorn options Kith's server uses; `bench.run` passes the same ones on the CLI.
UVICORN_OPTIONS: tuple[str, ...] = (
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
    "--workers",
    "1",
)


async def track(request: Request) -> Response:
    body = await request.body()
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return Response(b'{"detail": "malformed JSON"}', 422, media_type="application/json")
    return Response(_OK, media_type="application/json")


app = Starlette(routes=[Route("/track", track, methods=["POST"])])


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8687)
    args = parser.parse_args(argv)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        workers=1,
    )


if __name__ == "__main__":
    main()
