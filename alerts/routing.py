"""Route a matter to the team that covers its area (and category)."""

from __future__ import annotations

from yuqing.gazetteer import Gazetteer
from yuqing.settings import TeamsFile


class Router:
    def __init__(self, teams: TeamsFile, gazetteer: Gazetteer) -> None:
        self._teams = teams
        self._gazetteer = gazetteer

    def areas(self, area: str | None) -> list[str]:
        """The area and every area containing it (for silences on a street or township)."""
        return self._gazetteer.ancestors(area) if area else []

    def route(self, area: str | None, category: str | None, uncertain: bool = False) -> str:
        """The most local team covering the area whose categories admit the post."""
        if uncertain or area is None:
            return self._teams.triage_team
        for level_area in self._gazetteer.ancestors(area):
            for team in self._teams.teams:
                if level_area not in team.areas:
                    continue
                if team.categories and category not in team.categories:
                    continue
                return team.id
        return self._teams.triage_team
