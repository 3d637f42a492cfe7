"""The Host interface every testbed backend implements, and its implementations."""
