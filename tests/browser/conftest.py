"""The browser tests use the integration tests' fixtures (pg, loa, daemon, …)."""

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "loa_integration_conftest", Path(__file__).resolve().parents[1] / "integration" / "conftest.py")
_it = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _it
_spec.loader.exec_module(_it)
globals().update({k: v for k, v in vars(_it).items() if not k.startswith("__")})
