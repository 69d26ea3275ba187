"""PyYAML for the tests that read YAML: `from debian_yaml import yaml`.

Debian's python3-yaml (scripts/deps.sh) serves /usr/bin/python3. Under an interpreter of its
own without PyYAML (pyenv, a venv) the test runs itself again with /usr/bin/python3.
"""
import os
import sys

try:
    import yaml  # noqa: F401
except ImportError:
    if os.path.realpath(sys.executable) != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise
