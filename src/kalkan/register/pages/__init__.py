"""The register's web pages (server-rendered; every asset shipped in the package)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the web pages and their static assets on ``app``."""
