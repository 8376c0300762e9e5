"""Boundaries: Google Sheets (gspread), Meta's Graph API (requests), the state store (SQLite).

Third-party types stop here; each module translates its failures into sheetsync's error model.
"""
