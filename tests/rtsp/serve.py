#!/usr/bin/python3
"""A real RTSP server for the edge agent's tests: GStreamer's rtsp-server
serving H.264 MP4 files, each at rtsp://127.0.0.1:PORT/NAME, in a loop.

Run with Debian's own python3 (the GObject bindings live there):
    /usr/bin/python3 tests/rtsp/serve.py PORT NAME=FILE.mp4 [NAME=FILE.mp4 ...]
It prints "ready" once it listens, and serves until killed.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    Gst.init(None)
    port, *mounts = sys.argv[1:]
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    points = server.get_mount_points()
    for mount in mounts:
        name, path = mount.split("=", 1)
        factory = GstRtspServer.RTSPMediaFactory()
        # The file is sent as it is (no re-encoding), parameter sets repeated each second.
        factory.set_launch(
            f"( filesrc location={path} ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        factory.set_shared(True)
        points.add_factory(f"/{name}", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on port {port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
