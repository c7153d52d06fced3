"""Signals that cache_sync sends, so that others can observe it.

Both are sent with `send_robust()`: a failing listener never blocks invalidation.
"""

from django.dispatch import Signal

# Sent after the page families of committed changes were deleted from Redis, by the
# writer after its commit or by the relay.
# sender: cache_sync.delivery.delivery.deliver; keys: tuple[str, ...] of rule keys such as
# "product:abc" (the changed rows' own keys; related objects' keys are not listed);
# rebuild: the subset whose rule says "rebuild"; using: the database alias.
keys_invalidated = Signal()

# Sent after a `rebuild` rule refilled a page family after commit.
# sender: cache_sync.pages.decorator.CachedPage; key: str; stored: bool, False when the
# guard refused the page (a newer write came first) or Redis was unavailable.
key_rebuilt = Signal()
