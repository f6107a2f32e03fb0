"""``python -m skfedmia`` and the ``skfedmia`` command: the command line."""

import contextlib
import signal
import sys

from .experiments._cli import main as _cli_main


def main(argv=None) -> int:
    """Run the command; its exit status (130 when interrupted by Ctrl-C).

    Once an interrupt has decided the status, a further Ctrl-C (a second press, or one
    still pending while the interpreter shuts down) is ignored, so that the command ends
    with its message and status 130 rather than a traceback or a death by signal.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; ``None`` reads ``sys.argv``.
    """
    try:
        status = _cli_main(argv)
    except KeyboardInterrupt:
        status = 130
    if status == 130:
        # outside the main thread signals are not ours to handle
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    return status


if __name__ == "__main__":
    sys.exit(main())
