"""market-reaction: links policy announcements to the market moves that follow them."""
