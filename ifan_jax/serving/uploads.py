"""A request's `multipart/form-data` body, read into memory under a size limit and a read timeout.

Starlette's own form parser spools every file over 1 MB to a temporary file; what a user sends
must not reach the disk, so the body is parsed here as it streams in, with python-multipart's
parser (the one Starlette uses), into bytes. A body over the limit is refused with 413 before
any of it is decoded: at once when its Content-Length says so, otherwise as soon as it passes.
A body that stops arriving for `read_timeout` seconds is refused with 408; a field sent twice
(two `image` parts) with 400, rather than one of them silently winning.
"""

import asyncio
import dataclasses
import re

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

_CURL_HINT = "send the image as multipart/form-data, e.g. curl -F image=@photo.png URL"
# What browsers (the HTML standard's multipart/form-data encoding) and httpx escape in a part's name
# and filename: '"' as %22, CR and LF (httpx: every control character) as %0D, %0A, .... Nothing
# else is percent-encoded there, so a literal "%41" in a file name stays as it is.
_FORM_ESCAPE = re.compile(r"%(22|[01][0-9A-F])")


class UploadError(Exception):
  """A request the server refuses: `status` is the HTTP status, the message says why and what to do."""

  def __init__(self, status: int, message: str):
    super().__init__(message)
    self.status = status


class ClientGone(Exception):
  """The client closed its connection before its answer: nobody will read a response."""


@dataclasses.dataclass
class Part:
  """One form field: its file name (None for plain fields) and its bytes."""

  filename: str | None
  data: bytes


def _unescape(value: bytes) -> str:
  """A part's name or filename as the user's file was named: UTF-8, the form encoding's escapes undone."""
  return _FORM_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value.decode("utf-8", "replace"))


def _too_large(size_bytes, max_bytes, exact=True) -> UploadError:
  size = f"{size_bytes / 2**20:.1f} MB" if exact else f"over {size_bytes / 2**20:.1f} MB"
  return UploadError(
    413, f"The upload is {size}, more than this server accepts ({max_bytes / 2**20:g} MB, --max_upload_mb)."
  )


def _boundary(headers) -> bytes:
  content_type, options = parse_options_header(headers.get("content-type", ""))
  if content_type != b"multipart/form-data" or not options.get(b"boundary"):
    raise UploadError(400, f"Expected a multipart/form-data body, got {content_type.decode() or 'none'}: {_CURL_HINT}.")
  return options[b"boundary"]


def _check_length(headers, max_bytes):
  length = headers.get("content-length")
  if length is None:
    return
  if not length.isdigit():
    raise UploadError(400, f"Invalid Content-Length header {length!r}.")
  if int(length) > max_bytes:
    raise _too_large(int(length), max_bytes)


class _Collector:
  """python-multipart callbacks that gather each part's headers and data into memory."""

  def __init__(self):
    self.parts: dict[str, Part] = {}
    self.repeated: dict[str, int] = {}  # Fields sent more than once: how many times.
    self.complete = False  # Whether the closing boundary came: a cut-off body never gets there.
    self._field, self._header, self._headers, self._data = b"", b"", {}, bytearray()

  def callbacks(self):
    return {
      "on_part_begin": self._begin,
      "on_header_field": lambda data, start, end: setattr(self, "_field", self._field + data[start:end]),
      "on_header_value": lambda data, start, end: setattr(self, "_header", self._header + data[start:end]),
      "on_header_end": self._header_end,
      "on_part_data": lambda data, start, end: self._data.extend(data[start:end]),
      "on_part_end": self._end,
      "on_end": lambda: setattr(self, "complete", True),
    }

  def _begin(self):
    self._headers, self._data = {}, bytearray()

  def _header_end(self):
    self._headers[self._field.lower()] = self._header
    self._field, self._header = b"", b""

  def _end(self):
    _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
    filename = options.get(b"filename")
    name = _unescape(options.get(b"name", b""))
    if name in self.parts:
      self.repeated[name] = self.repeated.get(name, 1) + 1
    self.parts[name] = Part(None if filename is None else _unescape(filename), bytes(self._data))


async def _chunks(request, read_timeout: float):
  """The body's chunks as they arrive; 408 when none comes for `read_timeout` seconds, ClientGone when
  the client hangs up."""
  stream = request.stream()
  while True:
    try:
      yield await asyncio.wait_for(anext(stream), read_timeout)
    except StopAsyncIteration:
      return
    except TimeoutError:
      raise UploadError(
        408, f"The upload stalled: no data came for {read_timeout:g} s (the server's --read_timeout)."
      ) from None
    except ClientDisconnect:
      raise ClientGone("while sending its upload") from None


async def read_form(request, max_bytes: int, read_timeout: float) -> dict[str, Part]:
  """The fields of `request`'s multipart body by name; UploadError (400, 408 or 413) when it cannot be read."""
  _check_length(request.headers, max_bytes)
  collector = _Collector()
  parser = MultipartParser(_boundary(request.headers), collector.callbacks())
  received = 0
  try:
    async for chunk in _chunks(request, read_timeout):
      received += len(chunk)
      if received > max_bytes:
        raise _too_large(max_bytes, max_bytes, exact=False)
      parser.write(chunk)
    parser.finalize()
  except MultipartParseError as e:
    raise UploadError(400, f"The multipart body cannot be parsed ({e}): {_CURL_HINT}.") from None
  if not collector.complete:
    raise UploadError(400, f"The multipart body ends before its closing boundary (a truncated upload?): {_CURL_HINT}.")
  if collector.repeated:
    fields = ", ".join(f'{count} parts named "{name}"' for name, count in collector.repeated.items())
    raise UploadError(400, f"The form has {fields}: send one file per field ({_CURL_HINT}).")
  return collector.parts
