"""Phản ánh: the backend behind a province's citizen-feedback app.

`create_app()` builds the Flask application; nothing here reads configuration at
import time.
"""
from feedback.app import create_app

__all__ = ["create_app"]
