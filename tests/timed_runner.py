"""The runner the Python test phases share (tests/browser, tests/cluster): discovers a folder's
test_*.py in name order, runs the ones named on the command line (a module or its start, a test
method's name, or Class.method; all without names), and prints each test's time."""
import sys
import time
import unittest


class TimedResult(unittest.TextTestResult):
    _started = time.monotonic()  # a class set-up's failure comes before any test starts

    def startTest(self, test):
        self._started = time.monotonic()
        self.stream.write(f"-- {test.id()}\n")
        self.stream.flush()
        super().startTest(test)

    def _done(self, word, test):
        self.stream.write(f"   {word} {test.id()} ({time.monotonic() - self._started:.1f} s)\n")
        self.stream.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._done("PASS", test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._done("FAIL", test)

    def addError(self, test, err):
        super().addError(test, err)
        self._done("ERROR", test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._done(f"SKIP ({reason})", test)


def run(folder, kind, wanted, after=lambda result: None):
    """Runs `folder`'s tests named in `wanted`; `after(result)` prints a phase's own summary.
    Returns the exit status: 0 when every test passed."""
    suite = unittest.TestLoader().discover(folder, pattern="test_*.py", top_level_dir=folder)

    def flatten(s):
        for item in s:
            if isinstance(item, unittest.TestSuite):
                yield from flatten(item)
            else:
                yield item

    def picked(test):
        module, method = test.id().split(".")[0], test.id().split(".")[-1]
        return any(module.startswith(w) or method == w or ("." in w and w in test.id()) for w in wanted)

    tests = [t for t in flatten(suite) if not wanted or picked(t)]
    if not tests:
        sys.exit(f"no {kind} test matches {' '.join(wanted)}")
    started = time.monotonic()
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=0, resultclass=TimedResult)
    result = runner.run(unittest.TestSuite(tests))
    after(result)
    print(f"{kind} tests: {result.testsRun} run, {len(result.failures)} failed, {len(result.errors)} errors, "
          f"{len(result.skipped)} skipped in {time.monotonic() - started:.0f} s")
    return 0 if result.wasSuccessful() else 1
