"""Schedules: the spec language (calendars, cron, intervals) shared by frontend and worker."""
