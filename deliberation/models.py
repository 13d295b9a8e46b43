"""Live dialogue sessions (issue 5) will live here."""
