"""``python -m skfedmia`` and the ``skfedmia`` command: the command line."""

import contextlib
import signal
import sys

from .experiments._cli import main as _cli_main


def main(argv=None) -> int:
    """Run the command; its exit status (130 when interrupted by Ctrl-C).

    Once an interrupt has decided the status, a further Ctrl-C is ignored and the
    interrupt counts as handled, so that the command ends with its message and status 130
    rather than a traceback or a death by signal.

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
        _forget_handled_interrupt()
    return status


def _forget_handled_interrupt():
    """Tell CPython that the interrupt was handled.

    A Ctrl-C that lands while C code runs Python source through ``PyRun_*`` (as some
    extension modules do during their lazy imports) sets CPython's private
    ``_Py_UnhandledKeyboardInterrupt`` flag even when the program catches the
    ``KeyboardInterrupt`` further up; at exit CPython then kills itself with SIGINT
    (status -2) instead of returning 130. Best effort: other interpreters lack the flag.
    """
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt").value = 0


if __name__ == "__main__":
    sys.exit(main())
