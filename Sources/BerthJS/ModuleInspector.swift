package enum BerthJSPlaceholderToDelete {}
