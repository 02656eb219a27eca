// The page of python -m ifan_jax.serve: upload a photo to /api/previews, show the blurred image, the result
// and the disparity with a before/after slider and a shared zoom, and offer the result file.
"use strict";

const $ = (id) => document.getElementById(id);
const view = { scale: 1, left: 0, top: 0 }; // Zoom, and the visible region's top-left in image fractions.
let config = null;

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function showWarnings(warnings) {
  // What the server's reader left out of the file (a TIFF's later pages, an animation's later frames).
  $("warnings").textContent = warnings.join(" ");
  $("warnings").hidden = !warnings.length;
}

function setStatus(message) {
  $("status-text").textContent = message;
  $("status").hidden = !message;
}

async function loadHealth() {
  const health = await (await fetch("/api/health")).json();
  config = health.config;
  const size = `up to ${health.max_upload_mb} MB and ${Math.round(health.max_pixels / 1e6)} megapixels`;
  $("limits").textContent = `PNG, JPEG or TIFF, 8 or 16 bits, ${size}.`;
  const kind = config.dual_pixel ? "dual-pixel IFAN" : "IFAN";
  $("model").textContent = `${kind}, N=${config.iterations}, ${config.channels} channels, on ${health.device.kind}`;
  $("dual").hidden = !config.dual_pixel;
}

function clampView() {
  view.scale = Math.min(Math.max(view.scale, 1), Number($("zoom").max));
  const room = 1 - 1 / view.scale;
  view.left = Math.min(Math.max(view.left, 0), room);
  view.top = Math.min(Math.max(view.top, 0), room);
}

function render() {
  clampView();
  for (const port of document.querySelectorAll(".viewport")) {
    const { width, height } = port.getBoundingClientRect();
    const stage = port.querySelector(".stage");
    stage.style.transform =
      `translate(${-view.left * width * view.scale}px, ${-view.top * height * view.scale}px) scale(${view.scale})`;
    port.classList.toggle("pixels", view.scale >= 3);
  }
  const split = Number($("split").value);
  $("compare-after").style.clipPath = `inset(0 0 0 ${split}%)`;
  $("divider").style.left = `${split}%`;
  $("zoom").value = view.scale;
  $("zoom-value").textContent = `${view.scale.toFixed(2).replace(/\.?0+$/, "")}\u00d7`;
}

// Zooms to `scale` keeping the image point under (x, y) (fractions of the viewport) where it is.
function zoomAt(scale, x = 0.5, y = 0.5) {
  const u = view.left + x / view.scale, v = view.top + y / view.scale;
  view.scale = Math.min(Math.max(scale, 1), Number($("zoom").max));
  view.left = u - x / view.scale;
  view.top = v - y / view.scale;
  render();
}

function attachViewport(port) {
  port.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = port.getBoundingClientRect();
    zoomAt(view.scale * Math.exp(-event.deltaY / 300), (event.clientX - box.left) / box.width,
      (event.clientY - box.top) / box.height);
  }, { passive: false });
  port.addEventListener("pointerdown", (event) => {
    const box = port.getBoundingClientRect();
    const start = { x: event.clientX, y: event.clientY, left: view.left, top: view.top };
    port.setPointerCapture(event.pointerId);
    port.classList.add("dragging");
    const move = (e) => {
      if (port.id === "compare" && view.scale === 1) { // Unzoomed, dragging the comparison moves the split.
        $("split").value = (100 * (e.clientX - box.left)) / box.width;
      } else {
        view.left = start.left - (e.clientX - start.x) / (box.width * view.scale);
        view.top = start.top - (e.clientY - start.y) / (box.height * view.scale);
      }
      render();
    };
    move(event);
    port.addEventListener("pointermove", move);
    port.addEventListener("pointerup", () => {
      port.removeEventListener("pointermove", move);
      port.classList.remove("dragging");
    }, { once: true });
  });
}

function showResult(data, file) {
  for (const [id, key] of [["compare-before", "blurred"], ["blurred", "blurred"], ["compare-after", "result"],
    ["result", "result"], ["disparity", "disparity"]]) {
    $(id).src = data[key] || "";
  }
  $("disparity-caption").textContent = data.disparity
    ? "estimated disparity (blue < 0 < red, white in focus)"
    : "no disparity: the image was deblurred in tiles";
  const bytes = Uint8Array.from(atob(data.download.base64), (c) => c.charCodeAt(0));
  const link = $("download");
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([bytes], { type: data.download.media_type }));
  link.download = data.download.filename;
  link.textContent = `Download ${data.download.filename}`;
  showWarnings(data.warnings);
  $("info").textContent = `${file.name}: ${data.width}\u00d7${data.height}, ${data.bit_depth}-bit, ` +
    `deblurred in ${data.seconds.toFixed(2)} s`;
  document.documentElement.style.setProperty("--aspect", data.width / data.height);
  for (const port of document.querySelectorAll(".viewport")) port.style.aspectRatio = `${data.width} / ${data.height}`;
  $("results").hidden = false;
  $("drop").classList.add("compact");
  Object.assign(view, { scale: 1, left: 0, top: 0 });
  render();
}

async function upload(file) {
  showError("");
  showWarnings([]);
  const form = new FormData();
  form.append("image", file, file.name);
  if (config && config.dual_pixel) {
    if (!$("left").files.length || !$("right").files.length) {
      showError("This is the dual-pixel model: choose the left and right views, then the photo.");
      return;
    }
    form.append("left", $("left").files[0]);
    form.append("right", $("right").files[0]);
  }
  const started = Date.now();
  const tick = () => setStatus(`Deblurring ${file.name}\u2026 ${Math.round((Date.now() - started) / 1000)} s`);
  tick();
  const timer = setInterval(tick, 1000);
  document.body.dataset.state = "working";
  try {
    const response = await fetch("/api/previews", { method: "POST", body: form });
    const data = await response.json().catch(() => ({ error: `The server answered ${response.status}.` }));
    if (!response.ok) throw new Error(data.error || `The server answered ${response.status}.`);
    showResult(data, file);
    document.body.dataset.state = "done";
  } catch (error) {
    showError(error.message === "Failed to fetch" ? "The server cannot be reached." : error.message);
    document.body.dataset.state = "failed";
  } finally {
    clearInterval(timer);
    setStatus("");
  }
}

function setUp() {
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0]);
  });
  $("file").addEventListener("change", () => {
    const file = $("file").files[0];
    $("file").value = ""; // Choosing the same file again is a new upload.
    if (file) upload(file);
  });
  $("zoom").addEventListener("input", () => zoomAt(Number($("zoom").value)));
  $("split").addEventListener("input", render);
  $("fit").addEventListener("click", () => zoomAt(1));
  document.querySelectorAll(".viewport").forEach(attachViewport);
  window.addEventListener("resize", render);
  loadHealth().catch(() => showError("The server cannot be reached."));
}

setUp();
