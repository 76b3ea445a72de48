#!/usr/bin/env python3
"""GNU time's stand-in for detect.sh where /usr/bin/time is not installed.

    rusage.py -f FORMAT -o FILE COMMAND...

Runs COMMAND (its standard streams are the caller's) and writes one line to
FILE: wall seconds, user CPU seconds, system CPU seconds and peak RSS in KiB,
which is what detect.sh asks GNU time for (`-f '%e %U %S %M'`; FORMAT is
otherwise ignored). The figures come from os.wait4, the same rusage GNU time
reads. Exits with COMMAND's status.
"""

import os
import sys
import time


def main():
    args = sys.argv[1:]
    out = None
    while args and args[0] in ("-f", "-o"):
        if args[0] == "-o":
            out = args[1]
        args = args[2:]
    if not args or out is None:
        print(__doc__, file=sys.stderr)
        return 2
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(args[0], args)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - started
    with open(out, "w") as f:
        # ru_maxrss is in KiB on Linux, as GNU time's %M.
        f.write("%.2f %.2f %.2f %d\n" % (wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss))
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main())
