"""The ground floor of the site: what its apps share (row versions, the X-Data-Version header, the
database's identity in cache keys). It imports none of them, and neither it nor they import `website`."""
