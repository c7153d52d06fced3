"""Install cache_sync the way another project would, into a fresh venv, and check a new project with it.

    python -m tools.try_install

Builds the wheel from cache_sync/pyproject.toml, checks that it holds the
package only, installs it into a new venv, runs `django-admin startproject`,
adds `cache_sync` to INSTALLED_APPS with a django-redis cache and no CACHE_SYNC
(`manage.py check` must pass), then one bad rule (exactly one error, naming it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETTINGS_TAIL = """
INSTALLED_APPS += ["cache_sync"]
CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/0"}}
"""
BAD_RULE = """
CACHE_SYNC = {"RULES": {"auth.User": {"keys": ["profile:{nickname}"]}}}
"""


def run(*command: str | Path, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], cwd=cwd, check=check, capture_output=True, text=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cache-sync-install-") as tmp:
        work = Path(tmp)
        source = work / "src" / "cache_sync"  # a copy: building leaves build/ and *.egg-info beside the sources
        shutil.copytree(
            ROOT / "cache_sync", source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info")
        )
        sources = {f"cache_sync/{path.relative_to(source).as_posix()}" for path in source.rglob("*.py")}
        run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", source)
        wheel = next((work / "dist").glob("django_cache_sync-*.whl"))
        names = zipfile.ZipFile(wheel).namelist()
        packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
        assert packages == {"cache_sync"}, packages
        assert "cache_sync/py.typed" in names and not any("/tests/" in name for name in names), names
        assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), names  # MIT, as declared
        missing = sorted(name for name in sources if "/tests/" not in name and name not in names)
        assert not missing, f"modules of the source left out of the wheel (pyproject's packages): {missing}"
        print(f"built {wheel.name}: {len(names)} files, package cache_sync only")

        run(sys.executable, "-m", "venv", work / "venv")
        python = work / "venv" / "bin" / "python"
        run(python, "-m", "pip", "install", "-q", wheel)
        run(work / "venv" / "bin" / "django-admin", "startproject", "newsite", cwd=work)
        project = work / "newsite"
        settings = project / "newsite" / "settings.py"
        settings.write_text(settings.read_text() + SETTINGS_TAIL)
        checked = run(python, "manage.py", "check", cwd=project, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        print("a new project with cache_sync and no CACHE_SYNC: manage.py check passes")

        settings.write_text(settings.read_text() + BAD_RULE)
        checked = run(python, "manage.py", "check", cwd=project, check=False)
        errors = [line for line in checked.stderr.splitlines() if "cache_sync.E" in line]
        assert checked.returncode != 0 and len(errors) == 1 and "nickname" in errors[0], checked.stderr
        print(f"one bad rule: exactly one error: {errors[0].strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
