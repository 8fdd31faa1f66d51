"""Start localstripe (installed from PyPI, run as its own process, never copied here) bound to
127.0.0.1 and keeping its state in a file of the caller's choosing, instead of its defaults
(every interface, a fixed file in /tmp).

    python run_localstripe.py PORT STATE_FILE
"""

from __future__ import annotations

import pickle
import sys

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    port, state = int(sys.argv[1]), sys.argv[2]

    def dump(store: resources.Store) -> None:
        with open(state, "wb") as file:
            pickle.dump(dict(store), file, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.dump_to_disk = dump  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda store: None  # type: ignore[method-assign]
    web.run_app(server.app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
