"""catalog's migrations, and after them the fault run's own 0005 (a schema change of a watched table).

The package looks in catalog/migrations first, so `migrate` under loadtests.fault_settings sees
0001-0004 as applied and applies only 0005, while gunicorn and the relay keep the site's settings.
"""

from pathlib import Path

import catalog.migrations

__path__ = [*catalog.migrations.__path__, str(Path(__file__).parent)]
