"""The Starlette application: the page at `/`, `POST /api/deblur`, `POST /api/views`, `GET /api/health`.

Every error is JSON `{"error": message}`: 400 for a file that cannot be read (the deblur CLI's
message), 413 for a body over the size limit, 404 and 405 for unknown routes and methods, 500 for a
failure of the server itself.
"""

import base64
import contextlib
import pathlib
import platform
from urllib.parse import quote

import jax
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ifan_jax.inference import tiling
from ifan_jax.io import images
from ifan_jax.serving import DEFAULT_MAX_UPLOAD_MB, uploads, views
from ifan_jax.serving.worker import ModelWorker

STATIC = pathlib.Path(__file__).parent / "static"
_VIEWS = ("left", "right")


def _error(status, message) -> JSONResponse:
  return JSONResponse({"error": message}, status_code=status)


def _decode(part: uploads.Part | None, field: str) -> images.Photo:
  if part is None or not part.data:
    raise uploads.UploadError(400, f'No file in the form field "{field}": send it as {field}=@photo.png.')
  return images.decode_image(part.data, part.filename or field)


async def _read_request(request, worker: ModelWorker, max_bytes: int):
  """`(filename, photo, views)` of an upload: the image and, for the dual-pixel model, its two views."""
  form = await uploads.read_form(request, max_bytes)
  photo = await run_in_threadpool(_decode, form.get("image"), "image")
  views_ = {}
  if worker.deblurrer.config.dual_pixel:
    for name in _VIEWS:
      views_[name] = (await run_in_threadpool(_decode, form.get(name), name)).rgb
  return form["image"].filename, photo, views_


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
      "tile": state.worker.tile,
      "waiting": state.worker.waiting,
    }
  )


async def _deblur(request):
  """The API: the deblurred image as a file (`?format=png`, the default, or `same`: the input's format)."""
  state = request.app.state
  result_format = request.query_params.get("format", "png")
  if result_format not in views.RESULT_FORMATS:
    return _error(400, f"Unknown format={result_format!r}; expected one of {', '.join(views.RESULT_FORMATS)}.")
  filename, photo, views_ = await _read_request(request, state.worker, state.max_bytes)
  outputs, seconds = await state.worker.deblur(photo, views=views_, name=filename)
  data, media_type, name = await run_in_threadpool(views.result_file, outputs["result"], photo, filename, result_format)
  # RFC 6266's filename* (RFC 5987 percent-encoding of UTF-8): the name is the user's and may hold
  # quotes or any character.
  headers = {
    "Content-Disposition": f"inline; filename*=UTF-8''{quote(name, safe='')}",
    "X-Deblur-Seconds": f"{seconds:.3f}",
  }
  return Response(data, media_type=media_type, headers=headers)


def _page_views(outputs, photo, filename, seconds) -> dict:
  """The page's JSON: previews as data URLs and the download, which is `/api/deblur?format=same`'s file."""
  height, width = photo.rgb.shape[:2]
  data, media_type, name = views.result_file(outputs["result"], photo, filename, "same")

  def url(png):
    return "data:image/png;base64," + base64.b64encode(png).decode()

  disparity = outputs.get("disparity")
  return {
    "width": width,
    "height": height,
    "bit_depth": photo.bit_depth,
    "seconds": round(seconds, 3),
    "blurred": url(views.preview(photo.rgb)),
    "result": url(views.preview(outputs["result"])),
    "disparity": None if disparity is None else url(views.disparity_preview(disparity, height, width)),
    "download": {"filename": name, "media_type": media_type, "base64": base64.b64encode(data).decode()},
  }


async def _views(request):
  """What the page shows: the blurred image, the result and the disparity, and the file to download."""
  state = request.app.state
  filename, photo, views_ = await _read_request(request, state.worker, state.max_bytes)
  outputs, seconds = await state.worker.deblur(photo, views=views_, name=filename)
  return JSONResponse(await run_in_threadpool(_page_views, outputs, photo, filename, seconds))


async def _upload_error(request, exc: uploads.UploadError):
  return _error(exc.status, str(exc))


async def _http_error(request, exc: HTTPException):
  """Starlette's own refusals (404, 405) as JSON too."""
  return _error(exc.status_code, exc.detail)


async def _read_error(request, exc: ValueError):
  """ImageReadError and the other ValueErrors of reading an upload (an unsupported extension)."""
  return _error(400, str(exc))


async def _server_error(request, exc: Exception):
  """Starlette re-raises the exception after this response, so uvicorn logs its traceback."""
  return _error(500, f"The server failed: {type(exc).__name__}: {exc}")


def check_options(*, max_upload_mb, tile, overlap):
  """A ValueError naming the option the server cannot run with: the command asks before the model loads."""
  if max_upload_mb <= 0:
    raise ValueError(f"--max_upload_mb must be positive, got {max_upload_mb}.")
  if tile is not None:
    tiling.check_tiling(tile, overlap)


def create_app(
  deblurrer, *, checkpoint="", max_upload_mb=DEFAULT_MAX_UPLOAD_MB, tile=None, overlap=tiling.DEFAULT_OVERLAP
) -> Starlette:
  """The application around one loaded `Deblurrer`; uploads over `max_upload_mb` MB are refused (413)."""
  check_options(max_upload_mb=max_upload_mb, tile=tile, overlap=overlap)
  worker = ModelWorker(deblurrer, tile=tile, overlap=overlap)

  @contextlib.asynccontextmanager
  async def lifespan(app):
    yield
    worker.close()

  app = Starlette(
    routes=[
      Route("/", lambda request: FileResponse(STATIC / "index.html")),
      Route("/api/health", _health),
      Route("/api/deblur", _deblur, methods=["POST"]),
      Route("/api/views", _views, methods=["POST"]),
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
  app.state.worker, app.state.checkpoint, app.state.max_bytes = worker, str(checkpoint), int(max_upload_mb * 2**20)
  return app
