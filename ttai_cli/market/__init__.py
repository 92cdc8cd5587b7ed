"""NYSE market hours: the calendar and the guard every market-aware job consults."""
