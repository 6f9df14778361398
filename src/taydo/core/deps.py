"""Typed request dependencies for the core parts of the runtime.

A handler says what it needs in its signature (``db: Db``, ``bus: EventBus``) instead of
reading ``request.app.state``; each domain's ``runtime.py`` adds dependencies for its own parts
the same way (``Writer``, ``Series`` …).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pluggy import PluginManager

from taydo.core.bus import Bus
from taydo.core.db import Database
from taydo.core.runtime import Runtime, runtime_of
from taydo.core.secrets import SecretBox
from taydo.core.settings import Settings

__all__ = ["AppRuntime", "AppSettings", "Db", "EventBus", "Plugins", "Secrets", "get_runtime"]


async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request.app)


async def _db(request: Request) -> Database:
    return runtime_of(request.app).db


async def _settings(request: Request) -> Settings:
    return runtime_of(request.app).settings


async def _bus(request: Request) -> Bus:
    return runtime_of(request.app).bus


async def _plugins(request: Request) -> PluginManager:
    return runtime_of(request.app).plugins


async def _secrets(request: Request) -> SecretBox:
    return runtime_of(request.app).secrets


AppRuntime = Annotated[Runtime, Depends(get_runtime)]
Db = Annotated[Database, Depends(_db)]
AppSettings = Annotated[Settings, Depends(_settings)]
EventBus = Annotated[Bus, Depends(_bus)]
Plugins = Annotated[PluginManager, Depends(_plugins)]
Secrets = Annotated[SecretBox, Depends(_secrets)]
