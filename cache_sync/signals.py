"""Signals that cache_sync sends, so that others can observe it.

Both are sent with `send_robust()`: a failing listener never blocks invalidation.
"""

from django.dispatch import Signal

# Sent after a batch of page families was deleted from Redis (after commit).
# sender: cache_sync.batch.InvalidationBatch; keys: tuple[str, ...] of rule keys
# such as "product:abc"; using: the database alias whose commit triggered it.
keys_invalidated = Signal()

# Sent after a `rebuild` rule refilled a page family after commit.
# sender: cache_sync.pages.CachedPage; key: str; stored: bool, False when the
# guard refused the page (a newer write came first) or Redis was unavailable.
key_rebuilt = Signal()
