"""Runs the browser tests (tests/browser/test_*.py, in name order), printing each test's time,
then the console-log entries the tests let through (their allow-lists) and the other,
non-SEVERE entries, for the record.

    python tests/browser/main.py [NAME...]     NAME: a module or its start (test_03), a test method's name, or Class.method

Started by scripts/browser.sh, which starts the server and sets the ZAKOPS_BROWSER_* settings.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# This folder first: its modules win over the folders of tests/ (tests/cluster is also a name).
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import harness  # noqa: E402  (after the path)
import timed_runner  # noqa: E402


def summary(result):
    print("\nconsole-log entries let through by the allow-lists:")
    for browser, where, message in harness.ALLOWED_SEEN:
        print(f"  [{browser}, {where}] {message}")
    if harness.NOTED:
        print("other (non-SEVERE) console-log entries:")
        for browser, where, message in harness.NOTED:
            print(f"  [{browser}, {where}] {message}")


if __name__ == "__main__":
    sys.exit(timed_runner.run(HERE, "browser", sys.argv[1:], after=summary))
