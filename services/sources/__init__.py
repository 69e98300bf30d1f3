"""Intake: announcements entered by people (the write API) and read from public sources
(Federal Register, RSS/Atom feeds), produced to `tariff.announcements`."""
