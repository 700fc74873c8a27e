#!/usr/bin/env bash
# Writes a CycloneDX 1.5 JSON SBOM of the pinned dependency graph: the root component zakops
# (its version from Sources/ZakOpsCore/BuildInfo.swift), every Swift package SwiftPM resolves
# for Package.swift (name, version, purl pkg:swift/github.com/OWNER/NAME@VERSION, the repository
# as a vcs reference, the git revision checked out), the C libraries packages vendor (SQLite in
# sqlite-nio, BoringSSL in swift-crypto and swift-nio-ssl) and who depends on whom.
#
#   scripts/sbom.sh                      # to standard output
#   scripts/sbom.sh --out zakops.cdx.json
#
# The graph comes from `swift package show-dependencies --format json`, resolved in a scratch
# folder of its own ($TMPDIR/zakops-sbom), so the build folder is left alone. It fails when a
# package's version is not a pinned release, or when a package Package.swift names is missing.
# Check the result against an advisory database: docs/operations.md, "SBOM".
set -euo pipefail
cd "$(dirname "$0")/.."
die() { printf 'scripts/sbom.sh: %s\n' "$*" >&2; exit 1; }

out=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --out) [ "$#" -ge 2 ] || die "--out needs a file name"; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (usage: scripts/sbom.sh [--out FILE])" ;;
  esac
done

command -v swift >/dev/null || die "swift is not on PATH"
command -v python3 >/dev/null || die "python3 is not on PATH"

scratch="${TMPDIR:-/tmp}/zakops-sbom"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! swift package --scratch-path "$scratch" show-dependencies --format json >"$work/graph.json" 2>"$work/swiftpm.log"; then
  cat "$work/swiftpm.log" >&2
  die "swift package show-dependencies failed"
fi
swift --version >"$work/swift-version.txt" 2>&1 || true

python3 - "$work/graph.json" "$work/swift-version.txt" "$work/bom.json" <<'PYTHON'
import datetime
import json
import re
import subprocess
import sys
import uuid

graph_path, swift_version_path, out_path = sys.argv[1:4]
graph = json.load(open(graph_path))

def fail(message):
    sys.exit("scripts/sbom.sh: " + message)

build_info = open("Sources/ZakOpsCore/BuildInfo.swift").read()
match = re.search(r'static let version = "([^"]+)"', build_info)
if not match:
    fail("no version in Sources/ZakOpsCore/BuildInfo.swift")
root_version = match.group(1)

def git(*args, cwd="."):
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None

def repository(url):
    """(host, owner, name) of a git URL such as https://github.com/apple/swift-nio.git."""
    found = re.match(r"^(?:https?://|ssh://git@|git@)([^/:]+)[/:]([^/]+)/([^/]+?)(?:\.git)?/?$", url)
    if not found:
        fail(f"cannot read a repository from the URL {url}")
    return found.groups()

def purl(url, version):
    host, owner, name = repository(url)
    return f"pkg:swift/{host}/{owner}/{name}@{version}"

components = {}
depends_on = {}

def visit(package):
    """Records the package's dependencies and, below the root, the package itself."""
    children = []
    for child in package["dependencies"]:
        version = child["version"]
        if not re.fullmatch(r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?", version):
            fail(f"{child['identity']} is at '{version}', not a pinned release (Package.swift pins with exact:)")
        ref = purl(child["url"], version)
        children.append(ref)
        if ref not in components:
            host, owner, name = repository(child["url"])
            component = {
                "type": "library",
                "bom-ref": ref,
                "group": f"{host}/{owner}",
                "name": name,
                "version": version,
                "purl": ref,
                "externalReferences": [{"type": "vcs", "url": child["url"]}],
            }
            revision = git("rev-parse", "HEAD", cwd=child["path"])
            if revision:
                component["properties"] = [{"name": "swiftpm:revision", "value": revision}]
            components[ref] = component
            depends_on[ref] = visit(child)
            bundled = vendored(child["path"], ref)
            if bundled:
                component["components"] = bundled
                depends_on[ref] = sorted(set(depends_on[ref]) | {c["bom-ref"] for c in bundled})
                for inner in bundled:
                    depends_on[inner["bom-ref"]] = []
    return sorted(set(children))

def vendored(path, parent_ref):
    """C libraries a package carries in its own source: scanners match these by CPE or purl,
    not by the Swift package's name."""
    found = []
    try:
        header = open(f"{path}/Sources/VaporCSQLite/include/sqlite_nio_sqlite3.h").read()
        version = re.search(r'#define SQLITE_VERSION\s+"([^"]+)"', header)
        if version:
            found.append({
                "type": "library",
                "bom-ref": f"{parent_ref}#sqlite",
                "name": "sqlite",
                "version": version.group(1),
                "description": "the SQLite amalgamation bundled in this package",
                "cpe": f"cpe:2.3:a:sqlite:sqlite:{version.group(1)}:*:*:*:*:*:*:*",
                "purl": f"pkg:generic/sqlite@{version.group(1)}",
            })
    except OSError:
        pass
    try:
        commit = re.search(r"// BoringSSL Commit: ([0-9a-f]{40})", open(f"{path}/Package.swift").read())
        if commit:
            found.append({
                "type": "library",
                "bom-ref": f"{parent_ref}#boringssl",
                "name": "boringssl",
                "version": commit.group(1),
                "description": "the BoringSSL revision vendored in this package",
                "purl": f"pkg:github/google/boringssl@{commit.group(1)}",
                "externalReferences": [{"type": "vcs", "url": "https://boringssl.googlesource.com/boringssl"}],
            })
    except OSError:
        pass
    return found

root_ref = f"zakops@{root_version}"
depends_on[root_ref] = visit(graph)

# Every package Package.swift names must be in the graph, at the version it pins.
manifest = open("Package.swift").read()
pinned = re.findall(r'\.package\(\s*url:\s*"([^"]+)"\s*,\s*exact:\s*"([^"]+)"', manifest)
if not pinned:
    fail("no `.package(url:…, exact:…)` found in Package.swift")
missing = [f"{url} {version}" for url, version in pinned if purl(url, version) not in components]
if missing:
    fail("missing from the resolved graph: " + ", ".join(missing))

swift_version = None
found = re.search(r"Swift version (\S+)", open(swift_version_path).read())
if found:
    swift_version = found.group(1)

root = {
    "type": "application",
    "bom-ref": root_ref,
    "name": "zakops",
    "version": root_version,
    "description": "ZakOps API server (the zakops executable)",
}
commit = git("rev-parse", "HEAD")
if commit:
    root["properties"] = [{"name": "git:commit", "value": commit}]
    if git("status", "--porcelain", "--untracked-files=no"):
        root["properties"].append({"name": "git:dirty", "value": "true"})

tool = {"type": "application", "name": "swift-package-manager", "description": "swift package show-dependencies, via scripts/sbom.sh"}
if swift_version:
    tool["version"] = swift_version

bom = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "serialNumber": f"urn:uuid:{uuid.uuid4()}",
    "version": 1,
    "metadata": {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tools": {"components": [tool]},
        "component": root,
    },
    "components": sorted(components.values(), key=lambda c: (c["group"], c["name"])),
    "dependencies": [{"ref": ref, "dependsOn": refs} for ref, refs in sorted(depends_on.items())],
}
with open(out_path, "w") as handle:
    json.dump(bom, handle, indent=2)
    handle.write("\n")
inner = sum(len(c.get("components", [])) for c in components.values())
print(f"scripts/sbom.sh: {len(components)} packages ({len(pinned)} pinned in Package.swift, all present), {inner} vendored libraries", file=sys.stderr)
PYTHON

if [ -n "$out" ]; then
  install -m 0644 "$work/bom.json" "$out"
else
  cat "$work/bom.json"
fi
