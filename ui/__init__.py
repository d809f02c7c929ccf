"""Streamlit-side helpers shared by app.py and pages/ (the `hardening` package never imports
streamlit)."""
