"""Runs the cluster tests (tests/cluster/test_*.py, in name order), printing each test's time.

    python3 tests/cluster/main.py [NAME...]     NAME: a module or its start (test_d), a test method's name, or Class.method
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# This folder first: its modules win over the folders of tests/ (tests/cluster is also a name).
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import timed_runner  # noqa: E402

if __name__ == "__main__":
    sys.exit(timed_runner.run(HERE, "cluster", sys.argv[1:]))
