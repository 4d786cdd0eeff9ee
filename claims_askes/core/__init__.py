"""The ground floor: settings, errors, the service and schema registry, runtime facts, crash
points, and flow parameters from models. Imports nothing of the project."""
