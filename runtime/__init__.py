"""What generated modules import: stable densities, built-in nets, the loader, training and data."""
