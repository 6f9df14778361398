"""Identity: users, roles, agency scopes, tokens, sessions and the audit journal."""

from taydo.auth.service import authenticator, create_user, issue_token

__all__ = ["authenticator", "create_user", "issue_token"]
