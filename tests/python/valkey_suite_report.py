"""Summary and ratchet of a valkey-py test suite run (scripts/valkey-py-suite.sh).

    valkey_suite_report.py EXPECTED resp2=OUTCOMES resp3=OUTCOMES [--update] [--subset]

OUTCOMES files hold 'OUTCOME NODEID' lines (valkey_suite_plugin.py).
EXPECTED lists 'resp2 NODEID' / 'resp3 NODEID' lines: tests that passed
before and must still pass. Prints the counts per protocol, then every listed
test that did not pass, and exits 1 if there is any. With --update, tests
that pass now are added to EXPECTED (only when no listed test failed: the
list only grows). With --subset (a narrowed run), listed tests that did not
run are not counted.
"""

import collections
import sys

HEADER = """\
# valkey-py 6.2.0's own tests that pass against oxkey: 'PROTOCOL NODEID'.
# scripts/valkey-py-suite.sh fails when one of them does not pass.
# Add new passes with `scripts/valkey-py-suite.sh --update`; never remove a
# line to make a run green.
"""


def read_outcomes(path):
    outcomes = {}
    with open(path) as f:
        for line in f:
            outcome, _, nodeid = line.rstrip("\n").partition(" ")
            if nodeid:
                outcomes[nodeid] = outcome
    return outcomes


def read_expected(path):
    try:
        with open(path) as f:
            lines = [line.strip() for line in f]
    except FileNotFoundError:
        return set()
    return {tuple(line.split(" ", 1)) for line in lines if line and not line.startswith("#")}


def main(argv):
    update = "--update" in argv
    subset = "--subset" in argv
    args = [a for a in argv if a not in ("--update", "--subset")]
    expected_path, runs = args[0], dict(a.split("=", 1) for a in args[1:])
    listed = read_expected(expected_path)
    outcomes = {proto: read_outcomes(path) for proto, path in runs.items()}
    expected = {(p, n) for p, n in listed if not subset or n in outcomes.get(p, {})}

    totals = collections.Counter()
    for proto, results in outcomes.items():
        counts = collections.Counter(results.values())
        totals.update(counts)
        detail = ", ".join(f"{counts[k]} {k}" for k in ("xfailed", "xpassed") if counts[k])
        print(
            f"valkey-py {proto}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['error']} errors, {counts['skipped']} skipped" + (f", {detail}" if detail else "")
        )

    regressions = sorted(
        (proto, nodeid, outcomes[proto].get(nodeid, "not run"))
        for proto, nodeid in expected
        if proto in outcomes and outcomes[proto].get(nodeid) != "passed"
    )
    for proto, nodeid, outcome in regressions:
        print(f"REGRESSION {proto} {nodeid}: {outcome} (listed as passing)")

    new = sorted(
        (proto, nodeid)
        for proto, results in outcomes.items()
        for nodeid, outcome in results.items()
        if outcome == "passed" and (proto, nodeid) not in listed
    )
    if update and not regressions:
        with open(expected_path, "w") as f:
            f.write(HEADER)
            for proto, nodeid in sorted(listed | set(new)):
                f.write(f"{proto} {nodeid}\n")
        print(f"{expected_path}: added {len(new)} tests, {len(listed) + len(new)} listed")
    elif new:
        print(f"{len(new)} tests pass that are not listed yet: add them with --update")

    counted = sum(1 for proto, _ in expected if proto in outcomes)
    if expected:
        print(f"{counted} listed tests checked ({expected_path})")
    print(f"ratchet: {counted - len(regressions)} passed, {len(regressions)} failed")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
