"""Runs the Python suite with unittest and records each case's outcome as JSON, for test/python-interop.e2e.test.ts.

    /usr/bin/python3 clients/python/tests/run.py --list            # one case id a line, nothing run
    /usr/bin/python3 clients/python/tests/run.py --json out.json   # run every case; unittest's report goes to stderr

The JSON is {"cases": [{"id", "outcome", "message", "seconds"}]}, outcome one of passed, failed, error, skipped,
expected-failure, unexpected-success. A failure outside a case (an import error, a failing setUpClass) is recorded as
a case of its own, so nothing can go missing silently. Exits 0 when every case passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
import unittest
from typing import Any, Dict, Iterator, List, Optional

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]


def discover() -> unittest.TestSuite:
    """Every test_*.py under tests/, imported as the `tests` package with clients/python on sys.path."""
    return unittest.defaultTestLoader.discover(str(PACKAGE_ROOT / "tests"), top_level_dir=str(PACKAGE_ROOT))


def cases(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    """The cases of a (nested) suite, in run order."""
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from cases(test)
        else:
            yield test


class RecordingResult(unittest.TextTestResult):
    """unittest's text report, plus one record per case."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records: List[Dict[str, Any]] = []
        self._started = 0.0

    def startTest(self, test: unittest.TestCase) -> None:
        self._started = time.monotonic()
        super().startTest(test)

    def _record(self, test: unittest.TestCase, outcome: str, message: str = "") -> None:
        seconds = round(time.monotonic() - self._started, 3) if self._started else 0.0
        self.records.append({"id": test.id(), "outcome": outcome, "message": message, "seconds": seconds})

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addFailure(test, err)
        self._record(test, "failed", self.failures[-1][1])

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        super().addError(test, err)
        self._record(test, "error", self.errors[-1][1])

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addExpectedFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self._record(test, "expected-failure", self.expectedFailures[-1][1])

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self._record(test, "unexpected-success")

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase, err: Optional[Any]) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._record(subtest, "failed", self._exc_info_to_string(err, test))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="print the case ids and exit")
    parser.add_argument("--json", help="where to write the results")
    args = parser.parse_args()
    suite = discover()
    if args.list:
        print("\n".join(case.id() for case in cases(suite)))
        return 0
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=RecordingResult)
    result = runner.run(suite)
    assert isinstance(result, RecordingResult)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"cases": result.records}, indent=2))
    return 0 if result.wasSuccessful() and not result.skipped else 1


if __name__ == "__main__":
    sys.exit(main())
