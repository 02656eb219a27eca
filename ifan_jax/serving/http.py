"""Running the application: uvicorn, with the header timeout it lacks and a prompt stop on SIGTERM.

uvicorn times out idle keep-alive connections only: a client that sends one header byte every few
seconds (or a body it never finishes, to a route that does not read it) holds its connection for
ever. `HeaderTimeoutProtocol` closes a connection whose next request's headers are not complete
within `read_timeout` seconds of its opening or of its previous answer. Bodies are timed by the
application (`uploads.read_form`), which can answer 408.

On SIGTERM (and Ctrl-C) uvicorn stops accepting, lets requests in flight run for `SHUTDOWN_GRACE_S`
seconds, then cancels them, which stops their work before its next tile (`worker`); the model's
thread is a daemon, so the process exits without waiting for an image deblurred whole.
"""

import functools

import h11
import uvicorn
from absl import logging
from uvicorn.protocols.http.h11_impl import H11Protocol

SHUTDOWN_GRACE_S = 2  # Requests in flight on SIGTERM get this long to finish, then are abandoned.


class HeaderTimeoutProtocol(H11Protocol):
  """uvicorn's HTTP/1.1 protocol (h11) with a deadline for each request's headers."""

  def __init__(self, *args, read_timeout: float, **kwargs):
    super().__init__(*args, **kwargs)
    self.read_timeout = read_timeout
    self._deadline = None
    self._deadline_cycle = None  # The request cycle when the deadline was set: a new one disarms it.

  def _arm(self):
    self._disarm()
    self._deadline_cycle = self.cycle
    self._deadline = self.loop.call_later(self.read_timeout, self._headers_too_slow)

  def _disarm(self):
    if self._deadline is not None:
      self._deadline.cancel()
      self._deadline = None

  def connection_made(self, transport):
    super().connection_made(transport)
    self._arm()

  def handle_events(self):
    super().handle_events()
    if self.cycle is not self._deadline_cycle:  # A request's headers arrived.
      self._disarm()

  def on_response_complete(self):
    self._arm()  # The next request's headers (or the end of an unread body) must come in time.
    super().on_response_complete()

  def connection_lost(self, exc):
    self._disarm()
    super().connection_lost(exc)

  def _headers_too_slow(self):
    self._deadline = None
    if self.cycle is self._deadline_cycle and not self.transport.is_closing():
      if self.conn.their_state not in (h11.IDLE, h11.DONE) or self.conn.trailing_data[0]:
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        logging.info(
          "Closed the connection of %s: no complete request within %g s (--read_timeout).", client, self.read_timeout
        )
      self.transport.close()


def serve(app, *, host: str, port: int, read_timeout: float):
  """Serves `app` on `host:port` until SIGTERM or Ctrl-C."""
  uvicorn.run(
    app,
    host=host,
    port=port,
    http=functools.partial(HeaderTimeoutProtocol, read_timeout=read_timeout),
    timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    log_level="info",
  )
