"""`python -m local.moto_process`: moto's server in a process of its own, on a free port of 127.0.0.1.

The local pipeline's own process runs the event source's pollers and the local Connect; moto in the same
process would share one interpreter lock with them and cap the whole pipeline at one core. This process
prints the port it listens on, then serves until its standard input closes.

moto is patched first (local/moto_patches.py): two races of its threaded server closed, and the costs that grow
with a queue's length or the number of requests removed, every answer unchanged.
"""

from __future__ import annotations

import logging
import sys
import threading

from local.account import LOCAL_HOST

READY_PREFIX = "listening on port "


def main() -> None:
    """Serve until standard input closes."""
    # Imported here, so that the pipeline's own process (which imports READY_PREFIX) need not import moto.
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from local import moto_patches
    from local.aws_requests import CountingApplication

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on the demo's terminal
    moto_patches.install()
    server = make_server(
        LOCAL_HOST, 0, CountingApplication(moto_patches.dispatcher()), threaded=True, request_handler=MotoRequestHandler
    )
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    print(f"{READY_PREFIX}{server.server_port}", flush=True)
    sys.stdin.read()
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
