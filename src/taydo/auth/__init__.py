"""Identity: users, roles, agency scopes, tokens, sessions and the audit journal.

Other domains use ``taydo.auth.journal.record`` (audit), ``taydo.auth.sessions.csrf_token``
(console forms) and ``taydo.auth.service`` (accounts, tokens, demo accounts).
"""

from taydo.auth.service import authenticator, create_user, ensure_demo_users, issue_token

__all__ = ["authenticator", "create_user", "ensure_demo_users", "issue_token"]
