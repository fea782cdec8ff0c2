package enum CompilerPlaceholderToDelete {}
