"""Create the load test's profiles: `python -m loadtests.seed_users --count 50`.

Usernames are `shopper001`... (see site_pages.username), which the Locust users
expect. Idempotent: existing users are left as they are.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from loadtests.site_pages import username

    User = get_user_model()
    wanted = [username(i) for i in range(1, args.count + 1)]
    existing = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
    new = []
    for name in wanted:
        if name in existing:
            continue
        user = User(username=name, email=f"{name}@example.test", display_name=name.title(), bio="Fond of tea.")
        user.set_unusable_password()
        new.append(user)
    User.objects.bulk_create(new)
    print(f"{len(new)} users created, {len(existing)} existed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
