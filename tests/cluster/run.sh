#!/usr/bin/env bash
# The cluster tests (tests/cluster/test_*.py): session revocation, the login limit and the
# stream limit across instances, events between instances, an instance killed under load, a
# rolling restart under load, the incident commands — against a running scripts/cluster.sh
# cluster, through its nginx (https, trusting the run's CA) and its instances directly.
#
#   scripts/cluster.sh start && tests/cluster/run.sh [NAME...] ; scripts/cluster.sh stop
#
# NAME picks tests: a module or its start (test_e), a test method's name, or Class.method. The
# cluster is the one in ZAKOPS_CLUSTER_DIR (default /tmp/zakops-cluster). Tests stop, kill and
# start instances and turn the lockdown on and off; each leaves all three running and the
# lockdown off. Test e's webhook receiver makes the instances trust a CA of its own through
# /etc/ssl/certs for the duration of the test (tests/cluster/receiver.py): needs root. Test e
# waits for OUTBOX_LEASE_SECONDS (scripts/test.sh starts the cluster with
# tests/cluster/settings.env: 20 s; the default, 60 s, makes it 40 s longer).
# Needs python3 (standard library only) and psql.
set -euo pipefail
cd "$(dirname "$0")/../.."

die() { printf '\ntests/cluster/run.sh: %s\n' "$*" >&2; exit 1; }

DIR=${ZAKOPS_CLUSTER_DIR:-/tmp/zakops-cluster}
[ -f "$DIR/cluster.env" ] || die "no cluster in $DIR (scripts/cluster.sh start first)"
# shellcheck disable=SC1091
source "$DIR/cluster.env"
command -v python3 >/dev/null || die "python3 is needed"
scripts/cluster.sh status >/dev/null || { scripts/cluster.sh status >&2 || true; die "the cluster in $DIR is not all up and ready"; }
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
# No __pycache__ left in the checkout.
export PYTHONDONTWRITEBYTECODE=1
exec python3 tests/cluster/main.py "$@"
