"""The test clock (loaded by tests/integration/conftest.py).

``clock``  sets LOA_TEST_CLOCK for every loa started after it (list it before ``daemon``): the
           daemon and the CLI then decide by a clock this test moves while they run
           (core/clock.h). Returns a ``Clock``: ``.set(when)`` (an aware datetime), ``.now()``,
           ``.local(days, hh, mm, ss)`` (a time in Asia/Ho_Chi_Minh, DAYS after today there).
"""

import datetime
import os
import tempfile
import time
from pathlib import Path

import pytest

VN = datetime.timezone(datetime.timedelta(hours=7))


class Clock:
    def __init__(self, path):
        self.path = Path(path)
        self.offset = 0.0
        self._write()

    def _write(self):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{self.offset:.3f}\n")
        os.replace(tmp, self.path)      # never read half-written

    def now(self):
        return datetime.datetime.fromtimestamp(time.time() + self.offset, VN)

    def set(self, when):
        """The clock reads WHEN now, and runs on from there in real time."""
        self.offset = when.timestamp() - time.time()
        self._write()
        # The daemon reads the file again at most every 50 ms.
        time.sleep(0.1)

    def local(self, days, hh, mm, ss=0):
        day = datetime.datetime.now(VN) + datetime.timedelta(days=days)
        return day.replace(hour=hh, minute=mm, second=ss, microsecond=0)

    def wait_until(self, when, timeout=10):
        deadline = time.monotonic() + timeout
        while self.now() < when:
            if time.monotonic() > deadline:
                pytest.fail(f"the clock did not reach {when} within {timeout}s")
            time.sleep(0.05)


@pytest.fixture
def clock(monkeypatch):
    fd, path = tempfile.mkstemp(prefix="loa-it-clock-")
    os.close(fd)
    monkeypatch.setenv("LOA_TEST_CLOCK", path)
    try:
        yield Clock(path)
    finally:
        Path(path).unlink(missing_ok=True)
        Path(path).with_suffix(".tmp").unlink(missing_ok=True)
