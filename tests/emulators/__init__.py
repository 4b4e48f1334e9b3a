"""Local HTTP emulators of the platforms' send APIs (Graph, X, Telegram Bot API)."""
