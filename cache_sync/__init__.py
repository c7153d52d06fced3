"""Keep Redis-cached pages true when the data behind them changes."""
