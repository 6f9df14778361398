"""Reports: the daily operations briefing and the monthly KPI and DTI report (PDF, .xlsx),
on demand and on schedule by email, and agency scorecards."""

__all__: list[str] = []
