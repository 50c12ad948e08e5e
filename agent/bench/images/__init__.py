"""Instance images built without a registry (issue 12, point 2). So far only the plan of the
layers (spec.py); the builder itself is not written yet."""
