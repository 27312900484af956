"""OAuth token pairs, rotated with compare-and-swap so two refreshers never both win.

QuickBooks invalidates a refresh token the moment it issues the next one. If two processes refresh
at once, the one whose new pair is not stored holds a dead token; worse, if the loser's pair
overwrote the winner's, the stored refresh token would be dead too and the next run would lock out.
Saving only when the version is still the one read prevents both.
"""

from __future__ import annotations

import sqlalchemy as sa

from store.records import StoredToken
from store.schema import oauth_tokens
from store.timeutil import as_utc, utcnow


def get_token(conn: sa.Connection, system: str, account: str) -> StoredToken | None:
    row = conn.execute(
        sa.select(oauth_tokens).where(oauth_tokens.c.system == system, oauth_tokens.c.account == account)
    ).one_or_none()
    if row is None:
        return None
    values = dict(row._mapping)
    values["expires_at"] = as_utc(values["expires_at"])
    values["rotated_at"] = as_utc(values["rotated_at"])
    return StoredToken(**values)


def save_token(conn: sa.Connection, system: str, account: str, access_token: str, refresh_token: str,
               expires_at, expected_version: int | None) -> bool:
    """True if stored; False if another refresher stored a newer pair first (re-read and use that)."""
    now = utcnow()
    if expected_version is None:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(oauth_tokens).values(
                    system=system, account=account, access_token=access_token, refresh_token=refresh_token,
                    expires_at=expires_at, version=1, rotated_at=now,
                ))
            return True
        except sa.exc.IntegrityError:
            return False
    result = conn.execute(
        sa.update(oauth_tokens)
        .where(oauth_tokens.c.system == system, oauth_tokens.c.account == account,
               oauth_tokens.c.version == expected_version)
        .values(access_token=access_token, refresh_token=refresh_token, expires_at=expires_at,
                version=expected_version + 1, rotated_at=now)
    )
    return result.rowcount == 1
