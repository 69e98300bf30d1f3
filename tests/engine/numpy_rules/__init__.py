"""The engine's window rules as NumPy array operations: references for its compiled passes."""
