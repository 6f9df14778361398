"""The digital workforce (nhân lực số): training, skills, staff and community digital
technology teams, counted for people, civil servants and the IT workforce."""

from taydo.workforce.service import team_coverage, trained_share

__all__ = ["team_coverage", "trained_share"]
