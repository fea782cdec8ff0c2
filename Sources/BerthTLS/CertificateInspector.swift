package enum BerthTLSPlaceholderToDelete {}
