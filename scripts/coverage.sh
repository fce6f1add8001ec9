#!/usr/bin/env bash
# Line coverage of the service's own code (the src/ assemblies HpcJobs.*), measured with
# coverlet's collector while the tests run.
#
#   scripts/coverage.sh                                   # every test project (the whole suite)
#   scripts/coverage.sh tests/Grains.Tests                # one project (or a .csproj / .slnx)
#   scripts/coverage.sh tests/Api.Tests --filter "FullyQualifiedName~Sqlite"
#
# Everything after the optional project path goes to `dotnet test` as is. Results go to
# coverage/ (gitignored): raw/ holds one cobertura file per test project, merged.cobertura.xml
# the union of them, summary.txt the per-file figures. The per-assembly table is printed.
#
# Not counted: test and benchmark assemblies, and generated code — Orleans serializers and
# proxies, the JSON, [LoggerMessage] and [GeneratedRegex] source generators — excluded by
# their [GeneratedCode] attribute and by path (obj/, *.g.cs; the path rule is applied again
# at the merge, because coverlet keeps generated static initialisers such as LoggerMessage's
# cached delegates). [CompilerGenerated] is deliberately NOT excluded: async state machines
# and lambda closures carry it, so excluding it would drop the body of every async method
# (JobGrain.cs shrinks from 156 measured lines to 28). Code that only runs in the child
# processes of Silo.Tests (restart, crash, cluster tests) is not measured: coverlet
# instruments the assemblies loaded by the test process only.
#
# Needs only the .NET SDK and python3 (standard library).
set -euo pipefail
cd "$(dirname "$0")/.."

target=()
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  if [ ! -e "$1" ]; then
    echo "coverage.sh: no such project, solution or directory: $1" >&2
    exit 2
  fi
  target=("$1")
  shift
fi

out=coverage
raw="$out/raw"
rm -rf "$raw" "$out/merged.cobertura.xml" "$out/summary.txt"
mkdir -p "$raw"

settings="$out/coverage.runsettings"
cat > "$settings" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<RunSettings>
  <DataCollectionRunSettings>
    <DataCollectors>
      <DataCollector friendlyName="XPlat code coverage">
        <Configuration>
          <Format>cobertura</Format>
          <Include>[HpcJobs.*]*</Include>
          <Exclude>[HpcJobs.*.Tests]*,[HpcJobs.Tests.*]*,[HpcJobs.Bench]*,[HpcJobs.Bench.*]*</Exclude>
          <ExcludeByAttribute>GeneratedCodeAttribute,ExcludeFromCodeCoverageAttribute</ExcludeByAttribute>
          <ExcludeByFile>**/obj/**,**/*.g.cs</ExcludeByFile>
          <IncludeTestAssembly>false</IncludeTestAssembly>
          <SkipAutoProps>true</SkipAutoProps>
        </Configuration>
      </DataCollector>
    </DataCollectors>
  </DataCollectionRunSettings>
</RunSettings>
XML

status=0
dotnet test "${target[@]}" --collect:"XPlat Code Coverage" --settings "$settings" \
  --results-directory "$raw" "$@" || status=$?

reports=$(find "$raw" -name 'coverage.cobertura.xml' | sort)
if [ -z "$reports" ]; then
  echo "coverage.sh: no coverage report was written (dotnet test exited with $status)" >&2
  exit $(( status == 0 ? 1 : status ))
fi

# shellcheck disable=SC2086 # one path per line, none with spaces (GUID directories)
python3 - "$out" $reports <<'PY'
import os
import sys
import xml.etree.ElementTree as ET

out, reports = sys.argv[1], sys.argv[2:]
root_dir = os.getcwd()

# (assembly, absolute file) -> {line number: hits}; a line counts as covered when any report hit it.
files = {}
for report in reports:
    tree = ET.parse(report)
    sources = [s.text or "" for s in tree.getroot().iter("source")]
    for package in tree.getroot().iter("package"):
        assembly = package.get("name")
        for cls in package.iter("class"):
            name = cls.get("filename")
            path = name
            if not os.path.isabs(name):
                candidates = [os.path.join(s, name) for s in sources]
                path = next((c for c in candidates if os.path.exists(c)), candidates[0] if candidates else name)
            path = os.path.normpath(path)
            lines = files.setdefault((assembly, path), {})
            for line in cls.find("lines").iter("line"):
                number, hits = int(line.get("number")), int(line.get("hits"))
                lines[number] = max(lines.get(number, 0), hits)

def relative(path):
    rel = os.path.relpath(path, root_dir)
    return path if rel.startswith("..") else rel

src = os.path.join(root_dir, "src") + os.sep
assemblies = {}
per_file = []
for (assembly, path), lines in sorted(files.items()):
    if not path.startswith(src) or f"{os.sep}obj{os.sep}" in path or path.endswith(".g.cs"):
        continue  # only the service's own, hand-written sources
    covered = sum(1 for hits in lines.values() if hits > 0)
    total = len(lines)
    a = assemblies.setdefault(assembly, [0, 0])
    a[0] += covered
    a[1] += total
    per_file.append((assembly, relative(path), covered, total, lines))

def pct(covered, total):
    return 100.0 * covered / total if total else 0.0

# Merged cobertura, for editors and report tools.
cov = ET.Element("coverage", {"version": "1", "timestamp": "0"})
ET.SubElement(ET.SubElement(cov, "sources"), "source").text = root_dir
packages = ET.SubElement(cov, "packages")
all_covered = sum(a[0] for a in assemblies.values())
all_total = sum(a[1] for a in assemblies.values())
cov.set("lines-covered", str(all_covered))
cov.set("lines-valid", str(all_total))
cov.set("line-rate", f"{(all_covered / all_total if all_total else 0):.4f}")
for assembly, (covered, total) in sorted(assemblies.items()):
    package = ET.SubElement(packages, "package", {"name": assembly, "line-rate": f"{(covered / total if total else 0):.4f}"})
    classes = ET.SubElement(package, "classes")
    for a, path, c, t, lines in per_file:
        if a != assembly:
            continue
        cls = ET.SubElement(classes, "class", {"name": path, "filename": path, "line-rate": f"{(c / t if t else 0):.4f}"})
        line_elements = ET.SubElement(cls, "lines")
        for number in sorted(lines):
            ET.SubElement(line_elements, "line", {"number": str(number), "hits": str(lines[number])})
ET.ElementTree(cov).write(os.path.join(out, "merged.cobertura.xml"), encoding="utf-8", xml_declaration=True)

with open(os.path.join(out, "summary.txt"), "w", encoding="utf-8") as summary:
    summary.write(f"{'covered':>8} {'lines':>6} {'%':>6}  file\n")
    for assembly, path, covered, total, _ in per_file:
        summary.write(f"{covered:>8} {total:>6} {pct(covered, total):>6.1f}  {path}\n")

present = set(assemblies)
expected = set()
for entry in sorted(os.listdir(os.path.join(root_dir, "src"))):
    project = os.path.join(root_dir, "src", entry, entry + ".csproj")
    if os.path.exists(project):
        with open(project, encoding="utf-8") as f:
            text = f.read()
        start = text.find("<AssemblyName>")
        if start >= 0:
            expected.add(text[start + 14:text.find("</AssemblyName>", start)])

width = max([len(a) for a in assemblies] + [len("src/ overall")])
print()
print(f"Line coverage of src/ ({len(reports)} report(s) merged)")
print(f"  {'assembly':<{width}} {'covered':>8} {'lines':>7} {'%':>7}")
for assembly, (covered, total) in sorted(assemblies.items()):
    print(f"  {assembly:<{width}} {covered:>8} {total:>7} {pct(covered, total):>6.1f}%")
print(f"  {'src/ overall':<{width}} {all_covered:>8} {all_total:>7} {pct(all_covered, all_total):>6.1f}%")
missing = sorted(expected - present)
if missing:
    print(f"  not loaded by the tests that ran (not counted): {', '.join(missing)}")
print(f"  per file: {out}/summary.txt   merged: {out}/merged.cobertura.xml")
PY

exit "$status"
