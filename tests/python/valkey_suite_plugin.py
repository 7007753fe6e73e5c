"""pytest plugin loaded by scripts/valkey-py-suite.sh (``-p valkey_suite_plugin``)
when it runs valkey-py's own test suite against oxkey.

valkey-py's conftest reads ``valkey_version``, ``arch_bits`` and
``cluster_enabled`` from INFO at session start and, without them, aborts the
whole session. While the server's INFO lacks these fields (or INFO itself),
this plugin supplies them: the Valkey version oxkey implements (the one INFO
will report), 64 bits, no cluster. It warns when it does so, and does nothing
once INFO has them.
"""

import pytest

# oxkey's VALKEY_COMPAT_VERSION (src/lib.rs).
FALLBACK = {"valkey_version": "8.0.1", "arch_bits": 64, "cluster_enabled": 0}


def _suite_conftest(config):
    for plugin in config.pluginmanager.get_plugins():
        name = getattr(plugin, "__file__", "") or ""
        if name.endswith("tests/conftest.py") and hasattr(plugin, "_get_info"):
            return plugin
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    conftest = _suite_conftest(session.config)
    if conftest is None:
        return
    original = conftest._get_info

    def get_info(url):
        import valkey

        try:
            info = original(url)
        except valkey.ResponseError as e:
            info = {}
            missing = f"INFO failed ({e})"
        else:
            missing = ", ".join(k for k in FALLBACK if k not in info)
        if missing:
            print(f"\nvalkey_suite_plugin: INFO lacks {missing}; assuming {FALLBACK}")
            info = {**FALLBACK, **info}
        return info

    conftest._get_info = get_info


def pytest_addoption(parser):
    parser.addoption(
        "--outcomes-file",
        default=None,
        help="write one line 'OUTCOME NODEID' per test to this file (for the ratchet)",
    )


_outcomes = {}


def pytest_runtest_logreport(report):
    """Keeps each test's final outcome: an error in setup or teardown makes
    it 'error' and a failure 'failed', whatever the other phases did."""
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        else:
            outcome = report.outcome
        if _outcomes.get(report.nodeid) != "error":
            _outcomes[report.nodeid] = outcome
    elif report.failed:
        _outcomes[report.nodeid] = "error"
    elif report.skipped and report.nodeid not in _outcomes:
        _outcomes[report.nodeid] = "xfailed" if hasattr(report, "wasxfail") else "skipped"


def pytest_sessionfinish(session):
    path = session.config.getoption("--outcomes-file")
    if path:
        with open(path, "w") as f:
            for nodeid, outcome in sorted(_outcomes.items()):
                f.write(f"{outcome} {nodeid}\n")
