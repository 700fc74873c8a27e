"""Runs the cluster tests (tests/cluster/test_*.py, in name order), printing each test's time.

    python3 tests/cluster/main.py [NAME...]     NAME: a module or its start (test_d), a test method's name, or Class.method
"""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class TimedResult(unittest.TextTestResult):
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


def main():
    loader = unittest.TestLoader()
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    wanted = sys.argv[1:]

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
        sys.exit(f"no cluster test matches {' '.join(wanted)}")
    started = time.monotonic()
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=0, resultclass=TimedResult)
    result = runner.run(unittest.TestSuite(tests))
    print(f"cluster tests: {result.testsRun} run, {len(result.failures)} failed, {len(result.errors)} errors, "
          f"{len(result.skipped)} skipped in {time.monotonic() - started:.0f} s")
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
