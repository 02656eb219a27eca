"""Deblurring as a service: an HTTP API and a web page around one loaded model.

`uploads` reads a request's multipart body into memory under a size limit, `worker` is the queue
in front of the model, `views` encodes what the page shows and downloads, `app` builds the
Starlette application; `static/` holds the page (no asset from elsewhere). `python -m
ifan_jax.serve` is the command.
"""

# The default of --max_upload_mb: a 16-bit 12-megapixel TIFF (72 MB) is over it, a PNG of it is not.
DEFAULT_MAX_UPLOAD_MB = 50
