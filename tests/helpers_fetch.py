"""A Range-capable HTTP server on 127.0.0.1 that stands in for YouTube in the fetch tests.

It serves generated videos at ``/v/<youtube_id>.mp4`` with HTTP Range support, counts the
requests and bytes per path, records each request's Range header, and can misbehave per id:
answer 429 (or 503...) a few times, 404, 403, send a truncated body (every time or only the
first times), ignore Range, redirect, or serve garbage bytes. The same server stands in for a
plain file server (``file_url``).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass
class Behaviour:
    """How the server answers for one id.

    Attributes:
        status: A fixed error status (404, 403...), or None to serve the file.
        fail_first: Answer ``fail_status`` this many times, then serve normally.
        fail_status: The status of the first failures (429 by default).
        truncate: Send only this fraction of the body (with the full Content-Length).
        garbage: Serve random bytes instead of the video.
        delay: Seconds to wait before answering (to kill a build mid-download).
        truncate_times: Truncate only the first this many answers (None: every answer).
        ignore_range: Answer a Range request with the whole file (200), as some servers do.
        redirect: Answer 302 with this ``Location`` instead.
    """

    status: int | None = None
    fail_first: int = 0
    fail_status: int = 429
    truncate: float | None = None
    garbage: bool = False
    delay: float = 0.0
    truncate_times: int | None = None
    ignore_range: bool = False
    redirect: str | None = None
    served_failures: int = 0
    served_truncated: int = 0


@dataclass
class FakeTube:
    """State of the server: files, behaviours and counters."""

    files: dict[str, bytes] = field(default_factory=dict)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    requests: Counter = field(default_factory=Counter)
    bytes_sent: Counter = field(default_factory=Counter)
    statuses: list[tuple[str, int]] = field(default_factory=list)
    ranges: list[tuple[str, str | None]] = field(default_factory=list)
    proxied: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url_template(self) -> str:
        """The ``--url-template`` that points yt-dlp at this server."""
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v/{{youtube_id}}.mp4"

    def file_url(self, name: str) -> str:
        """The URL of the file served as ``name`` (``add_file(name, ...)``), ``.mp4`` added."""
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v/{name}.mp4"

    def add_file(self, youtube_id: str, path: Path, behaviour: Behaviour | None = None) -> None:
        self.files[youtube_id] = Path(path).read_bytes()
        if behaviour:
            self.behaviours[youtube_id] = behaviour

    def total_requests(self, youtube_id: str) -> int:
        return self.requests[youtube_id]

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()
            self.bytes_sent.clear()
            self.statuses.clear()
            self.ranges.clear()

    def start(self) -> FakeTube:
        tube = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                # A small send buffer, so bytes_sent is close to what the client read.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)

            def _id(self) -> str | None:
                # An absolute URI when the server is used as a proxy.
                m = re.fullmatch(r"/v/(.+)\.mp4", unquote(urlsplit(self.path).path))
                return m.group(1) if m else None

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _error(self, vid: str, status: int) -> None:
                with tube.lock:
                    tube.statuses.append((vid, status))
                body = f"error {status}".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _serve(self, head: bool) -> None:
                vid = self._id()
                with tube.lock:
                    tube.requests[vid or self.path] += 1
                    tube.ranges.append((vid or self.path, self.headers.get("Range")))
                    if self.path.startswith("http://"):
                        tube.proxied += 1  # an absolute URI: the client used us as its proxy
                if vid is None or vid not in tube.files:
                    self._error(vid or self.path, 404)
                    return
                b = tube.behaviours.get(vid, Behaviour())
                if b.delay:
                    time.sleep(b.delay)
                if b.status:
                    self._error(vid, b.status)
                    return
                if b.redirect:
                    with tube.lock:
                        tube.statuses.append((vid, 302))
                    self.send_response(302)
                    self.send_header("Location", b.redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with tube.lock:
                    fail = b.served_failures < b.fail_first
                    if fail:
                        b.served_failures += 1
                if fail:
                    self._error(vid, b.fail_status)
                    return
                data = tube.files[vid]
                if b.garbage:
                    data = bytes((i * 7919 + 13) % 251 for i in range(len(data)))
                size = len(data)
                start, end = 0, size - 1
                rng = None if b.ignore_range else self.headers.get("Range")
                m = _RANGE.fullmatch(rng.strip()) if rng else None
                if m and (m.group(1) or m.group(2)):
                    if m.group(1):
                        start = int(m.group(1))
                        end = int(m.group(2)) if m.group(2) else size - 1
                    else:
                        start = max(0, size - int(m.group(2)))
                    end = min(end, size - 1)
                    if start >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                else:
                    self.send_response(200)
                body = data[start : end + 1]
                with tube.lock:
                    cut = b.truncate is not None and not head and (
                        b.truncate_times is None or b.served_truncated < b.truncate_times)
                    if cut:
                        b.served_truncated += 1
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Accept-Ranges", "none" if b.ignore_range else "bytes")
                self.send_header("Content-Length", str(len(body)))
                if cut:
                    self.send_header("Connection", "close")
                self.end_headers()
                with tube.lock:
                    tube.statuses.append((vid, 206 if m else 200))
                if head:
                    return
                if cut:
                    body = body[: int(len(body) * b.truncate)]
                try:
                    for i in range(0, len(body), 65536):
                        chunk = body[i : i + 65536]
                        self.wfile.write(chunk)
                        with tube.lock:
                            tube.bytes_sent[vid] += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                if cut:
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# -- media helpers ----------------------------------------------------------------------------
SOURCE_FPS = 25
SOURCE_SIZE = (160, 120)


def make_source(path: Path, seed: int, seconds: float = 8.0) -> Path:
    """A generated H.264 + AAC MP4 (160x120, 25 fps) with the seed's identifiable pattern."""
    from dance_aggregate.media.synth import write_video

    w, h = SOURCE_SIZE
    return write_video(path, seed, seconds=seconds, fps=SOURCE_FPS, width=w, height=h)


def source_frame_index(img, seed: int, n_frames: int) -> int:
    """The index of the source frame of ``seed`` that ``img`` (RGB ndarray) shows."""
    import numpy as np

    from dance_aggregate.media.synth import pattern_frame

    w, h = SOURCE_SIZE
    errs = [np.abs(img.astype(int) - pattern_frame(seed, i, w, h).astype(int)).mean() for i in range(n_frames)]
    return int(np.argmin(errs))


def clip_frames(video_bytes: bytes) -> list:
    """The decoded RGB frames of an encoded clip."""
    import io

    import av

    with av.open(io.BytesIO(video_bytes)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
