"""The Starlette application: the page at `/`, `POST /api/deblur`, `POST /api/previews`, `GET /api/health`.

Every error is JSON `{"error": message}`: 400 for a file that cannot be read or is over the pixel
limit (the deblur CLI's message), 408 for an upload that stalls, 413 for a body over the size limit,
404 and 405 for unknown routes and methods, 503 for a request over its deadline, 500 for a failure
of the server itself. A deblurring request has `request_timeout` seconds from its first byte to its
answer; its work stops (before the next tile) when the deadline passes or its client hangs up, which
is logged in one line. What the reader left out of a file (pages, frames) is told to the client:
the API's `X-Deblur-Warnings` header, the page's `warnings`.
"""

import asyncio
import base64
import contextlib
import pathlib
import platform
from urllib.parse import quote

import jax
from absl import logging
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ifan_jax.inference.deblurrer import Deblurrer
from ifan_jax.io import images
from ifan_jax.serving import Settings, encoding, uploads
from ifan_jax.serving.worker import ModelWorker

STATIC = pathlib.Path(__file__).parent / "static"
_VIEWS = ("left", "right")
_WARNINGS_HEADER = "X-Deblur-Warnings"


def _error(status, message, headers=None) -> JSONResponse:
  return JSONResponse({"error": message}, status_code=status, headers=headers)


def _decode(part: uploads.Part | None, field: str, max_pixels: int) -> images.Photo:
  if part is None or not part.data:
    raise uploads.UploadError(400, f'No file in the form field "{field}": send it as {field}=@photo.png.')
  return images.decode_image(part.data, part.filename or field, max_pixels=max_pixels)


async def _read_request(request, *, same_format: bool):
  """`(filename, photo, views)` of an upload: the image and, for the dual-pixel model, its two views.

  `same_format`: the result will be written in the upload's format, which must hold it (a 16-bit PNG
  named .jpg is refused now, not after the model ran).
  """
  state = request.app.state
  form = await uploads.read_form(request, state.max_bytes, state.read_timeout)
  photo = await run_in_threadpool(_decode, form.get("image"), "image", state.max_pixels)
  filename = form["image"].filename or "image"
  if same_format:
    images.check_writable(photo, images.image_format(filename), filename)
  views_ = {}
  if state.worker.deblurrer.config.dual_pixel:
    for name in _VIEWS:
      views_[name] = (await run_in_threadpool(_decode, form.get(name), name, state.max_pixels)).rgb
  return filename, photo, views_


async def _client_gone(request):
  """Returns when the client closes its connection (the request's body was read: only that can come)."""
  while (await request.receive())["type"] != "http.disconnect":
    pass


async def _deblur_while_connected(request, photo, views_, filename):
  """The worker's `(outputs, seconds)`; its work is cancelled, and ClientGone raised, if the client leaves."""
  work = asyncio.ensure_future(request.app.state.worker.deblur(photo, views=views_, name=filename))
  gone = asyncio.ensure_future(_client_gone(request))
  try:
    await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    if not work.done():
      raise uploads.ClientGone(f"while its image {filename} was being deblurred")
    return work.result()
  finally:
    work.cancel()
    gone.cancel()


def _within_deadline(handler):
  """`handler` under the request deadline (503 past it) that logs a client's leaving in one line, and
  answers 503 when the server stops under it (uvicorn cancels what is still running after its grace)."""

  async def endpoint(request):
    timeout = request.app.state.request_timeout
    try:
      async with asyncio.timeout(timeout):
        return await handler(request)
    except TimeoutError:
      message = f"The request took longer than this server allows ({timeout:g} s, --request_timeout); its work stopped."
      return _error(503, message)
    except uploads.ClientGone as gone:
      client = request.client
      where = f"{client.host}:{client.port}" if client else "a client"
      logging.warning("%s closed its connection %s: its request was dropped.", where, gone)
      return Response(status_code=499)  # Never delivered: nobody is there to read it.
    except asyncio.CancelledError:
      logging.warning("Stopping: the request for %s was abandoned.", request.url.path)
      return _error(503, "The server is stopping: send the request again once it is back.")

  return endpoint


def _health(request):
  state = request.app.state
  device = jax.devices()[0]
  return JSONResponse(
    {
      "status": "ok",
      "checkpoint": state.checkpoint,
      "config": state.worker.deblurrer.config.to_dict(),
      "device": {"platform": device.platform, "kind": device.device_kind, "name": str(device)},
      "jax": jax.__version__,
      "python": platform.python_version(),
      "max_upload_mb": state.max_bytes / 2**20,
      "max_pixels": state.max_pixels,
      "request_timeout": state.request_timeout,
      "tile": state.worker.tile,
      "waiting": state.worker.waiting,
    }
  )


async def _deblur(request):
  """The API: the deblurred image as a file (`?format=png`, the default, or `same`: the input's format)."""
  result_format = request.query_params.get("format", "png")
  if result_format not in encoding.RESULT_FORMATS:
    return _error(400, f"Unknown format={result_format!r}; expected one of {', '.join(encoding.RESULT_FORMATS)}.")
  filename, photo, views_ = await _read_request(request, same_format=result_format == "same")
  outputs, seconds = await _deblur_while_connected(request, photo, views_, filename)
  data, media_type, name = await run_in_threadpool(
    encoding.result_file, outputs["result"], photo, filename, result_format
  )
  # RFC 6266's filename* (RFC 5987 percent-encoding of UTF-8): the name is the user's and may hold
  # quotes or any character.
  headers = {
    "Content-Disposition": f"inline; filename*=UTF-8''{quote(name, safe='')}",
    "X-Deblur-Seconds": f"{seconds:.3f}",
  }
  if photo.notes:
    headers[_WARNINGS_HEADER] = " ".join(photo.notes)
  return Response(data, media_type=media_type, headers=headers)


def _page_json(outputs, photo, filename, seconds) -> dict:
  """The page's JSON: previews as data URLs and the download, which is `/api/deblur?format=same`'s file."""
  height, width = photo.rgb.shape[:2]
  data, media_type, name = encoding.result_file(outputs["result"], photo, filename, "same")

  def url(png):
    return "data:image/png;base64," + base64.b64encode(png).decode()

  disparity = outputs.get("disparity")
  return {
    "width": width,
    "height": height,
    "bit_depth": photo.bit_depth,
    "seconds": round(seconds, 3),
    "blurred": url(encoding.preview(photo.rgb)),
    "result": url(encoding.preview(outputs["result"])),
    "disparity": None if disparity is None else url(encoding.disparity_preview(disparity, height, width)),
    "download": {"filename": name, "media_type": media_type, "base64": base64.b64encode(data).decode()},
    "warnings": list(photo.notes),
  }


async def _previews(request):
  """What the page shows: the blurred image, the result and the disparity, and the file to download."""
  filename, photo, views_ = await _read_request(request, same_format=True)  # The download is in its format.
  outputs, seconds = await _deblur_while_connected(request, photo, views_, filename)
  return JSONResponse(await run_in_threadpool(_page_json, outputs, photo, filename, seconds))


async def _upload_error(request, exc: uploads.UploadError):
  """A refused upload; after 408 and 413 the rest of the body is not read, so the connection closes."""
  return _error(exc.status, str(exc), headers={"Connection": "close"} if exc.status in (408, 413) else None)


async def _http_error(request, exc: HTTPException):
  """Starlette's own refusals (404, 405) as JSON too."""
  return _error(exc.status_code, exc.detail)


async def _read_error(request, exc: ValueError):
  """ImageReadError and the other ValueErrors of reading an upload (an unsupported extension)."""
  return _error(400, str(exc))


async def _server_error(request, exc: Exception):
  """Starlette re-raises the exception after this response, so uvicorn logs its traceback."""
  return _error(500, f"The server failed: {type(exc).__name__}: {exc}")


def create_app(deblurrer, *, checkpoint="", **settings) -> Starlette:
  """The application around one loaded `Deblurrer`, under `Settings(**settings)` (a ValueError names a bad one).

  The model runs with its own compiled shapes, `settings.compiled_shapes` at most (`Deblurrer`).
  """
  settings = Settings(**settings)
  settings.check()
  bounded = Deblurrer(deblurrer.config, deblurrer.variables["params"], compiled_shapes=settings.compiled_shapes)
  worker = ModelWorker(bounded, tile=settings.tile, overlap=settings.overlap)

  @contextlib.asynccontextmanager
  async def lifespan(app):
    yield
    worker.close()

  app = Starlette(
    routes=[
      Route("/", lambda request: FileResponse(STATIC / "index.html")),
      Route("/api/health", _health),
      Route("/api/deblur", _within_deadline(_deblur), methods=["POST"]),
      Route("/api/previews", _within_deadline(_previews), methods=["POST"]),
      Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ],
    exception_handlers={
      uploads.UploadError: _upload_error,
      HTTPException: _http_error,
      ValueError: _read_error,
      Exception: _server_error,
    },
    lifespan=lifespan,
  )
  app.state.worker, app.state.checkpoint, app.state.max_bytes = worker, str(checkpoint), settings.max_bytes
  app.state.max_pixels, app.state.request_timeout = settings.max_pixels, settings.request_timeout
  app.state.read_timeout = settings.read_timeout
  return app
